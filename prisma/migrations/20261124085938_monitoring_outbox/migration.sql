-- AlterTable
ALTER TABLE "monitor_incidents" ADD COLUMN     "alert_queued_at" TIMESTAMP(3),
ADD COLUMN     "failed_downloads" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "recovery_queued_at" TIMESTAMP(3);
