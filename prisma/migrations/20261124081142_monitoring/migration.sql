-- CreateTable
CREATE TABLE "download_attempts" (
    "id" UUID NOT NULL,
    "content_key" TEXT NOT NULL,
    "workflow_id" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "source" TEXT,
    "downloader" TEXT NOT NULL,
    "platform" TEXT NOT NULL,
    "url" TEXT NOT NULL,
    "requested_by" BIGINT,
    "started_at" TIMESTAMP(3) NOT NULL,
    "finished_at" TIMESTAMP(3) NOT NULL,
    "success" BOOLEAN NOT NULL,
    "bytes" BIGINT,
    "error_kind" TEXT,
    "error" TEXT,
    "counts" BOOLEAN NOT NULL,
    "alert" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "download_attempts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "monitor_incidents" (
    "id" SERIAL NOT NULL,
    "downloader" TEXT NOT NULL,
    "open_for" TEXT,
    "opened_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "closed_at" TIMESTAMP(3),
    "closed_by" TEXT,
    "consecutive_failures" INTEGER NOT NULL,
    "last_error" TEXT,
    "example_url" TEXT,

    CONSTRAINT "monitor_incidents_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "settings" (
    "key" TEXT NOT NULL,
    "value" JSONB NOT NULL,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "settings_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "download_attempts_downloader_finished_at_idx" ON "download_attempts"("downloader", "finished_at" DESC);

-- CreateIndex
CREATE INDEX "download_attempts_finished_at_idx" ON "download_attempts"("finished_at" DESC);

-- CreateIndex
CREATE UNIQUE INDEX "monitor_incidents_open_for_key" ON "monitor_incidents"("open_for");

-- CreateIndex
CREATE INDEX "monitor_incidents_downloader_opened_at_idx" ON "monitor_incidents"("downloader", "opened_at" DESC);
