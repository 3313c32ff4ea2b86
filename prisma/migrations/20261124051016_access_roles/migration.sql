-- CreateEnum
CREATE TYPE "AccessRole" AS ENUM ('admin', 'user', 'trial');

-- CreateTable
CREATE TABLE "bot_users" (
    "user_id" BIGINT NOT NULL,
    "username" TEXT,
    "role" "AccessRole",
    "role_expires_at" TIMESTAMP(3),
    "banned" BOOLEAN NOT NULL DEFAULT false,
    "ban_expires_at" TIMESTAMP(3),
    "changed_by" BIGINT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "bot_users_pkey" PRIMARY KEY ("user_id")
);

-- CreateTable
CREATE TABLE "allowed_chats" (
    "chat_id" BIGINT NOT NULL,
    "expires_at" TIMESTAMP(3),
    "granted_by" BIGINT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "allowed_chats_pkey" PRIMARY KEY ("chat_id")
);

-- CreateIndex
CREATE INDEX "bot_users_username_idx" ON "bot_users"("username");
