# One image for the worker (default command), the bot and the migration job:
#   worker:  npx tsx workers/main.ts
#   bot:     npx tsx bot/main.ts
#   migrate: npx tsx scripts/migrate.ts
FROM node:20-bookworm-slim

# yt-dlp and ffmpeg do the downloading and merging; ca-certificates for HTTPS
# (it also pulls in openssl, which the Prisma CLI uses to pick its engine build).
# Debian's yt-dlp trails upstream: if a site stops working, install a newer one
# and point YTDLP_PATH at it.
RUN apt-get update \
  && apt-get install -y --no-install-recommends yt-dlp ffmpeg ca-certificates \
  && rm -rf /var/lib/apt/lists/*

WORKDIR /app
RUN chown node:node /app

# Run as the unprivileged `node` user (uid 1000) that the base image provides.
USER node

# Dependencies first, so source edits do not reinstall them. tsx and the Prisma
# CLI are runtime dependencies, so dev dependencies (jest, typescript) stay out.
COPY --chown=node:node package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force

COPY --chown=node:node . .
# Writes the Prisma client to lib/generated/prisma; needs no database.
RUN npx prisma generate \
  && mkdir -p /app/downloads

ENV NODE_ENV=production \
    DOWNLOAD_DIR=/app/downloads

CMD ["npx", "tsx", "workers/main.ts"]
