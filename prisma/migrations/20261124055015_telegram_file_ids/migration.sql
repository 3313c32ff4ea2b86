-- AlterTable
ALTER TABLE "downloads" ADD COLUMN     "telegram_file_id" TEXT,
ADD COLUMN     "telegram_file_kind" TEXT;
