-- CreateEnum
CREATE TYPE "DownloadState" AS ENUM ('queued', 'waiting_for_disk', 'downloading', 'completed', 'failed');

-- CreateEnum
CREATE TYPE "DownloadMode" AS ENUM ('video', 'audio');

-- CreateTable
CREATE TABLE "downloads" (
    "content_key" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "normalized_url" TEXT NOT NULL,
    "platform" TEXT NOT NULL,
    "video_id" TEXT,
    "mode" "DownloadMode" NOT NULL,
    "state" "DownloadState" NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "title" TEXT,
    "file_path" TEXT,
    "size_bytes" BIGINT,
    "error" TEXT,
    "error_kind" TEXT,
    "workflow_id" TEXT NOT NULL,
    "correlation_id" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,
    "started_at" TIMESTAMP(3),
    "finished_at" TIMESTAMP(3),

    CONSTRAINT "downloads_pkey" PRIMARY KEY ("content_key")
);

-- CreateTable
CREATE TABLE "download_requests" (
    "id" BIGSERIAL NOT NULL,
    "content_key" TEXT NOT NULL,
    "chat_id" BIGINT NOT NULL,
    "user_id" BIGINT NOT NULL,
    "message_id" INTEGER NOT NULL,
    "correlation_id" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "download_requests_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "downloads_state_idx" ON "downloads"("state");

-- CreateIndex
CREATE INDEX "downloads_platform_video_id_idx" ON "downloads"("platform", "video_id");

-- CreateIndex
CREATE INDEX "download_requests_user_id_idx" ON "download_requests"("user_id");

-- CreateIndex
CREATE UNIQUE INDEX "download_requests_content_key_chat_id_message_id_key" ON "download_requests"("content_key", "chat_id", "message_id");

-- AddForeignKey
ALTER TABLE "download_requests" ADD CONSTRAINT "download_requests_content_key_fkey" FOREIGN KEY ("content_key") REFERENCES "downloads"("content_key") ON DELETE CASCADE ON UPDATE CASCADE;
