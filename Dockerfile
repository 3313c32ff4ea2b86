# One image for the worker (default command), the bot and the migration job:
#   worker:  npx tsx workers/main.ts
#   bot:     npx tsx bot/main.ts
#   migrate: npx tsx scripts/migrate.ts
FROM node:20-bookworm-slim

# yt-dlp and ffmpeg do the downloading and merging (aria2 for USE_ARIA2C=true); ca-certificates for HTTPS
# (it also pulls in openssl, which the Prisma CLI uses to pick its engine build).
# yt-dlp comes from bookworm-backports, as `npm run setup` installs it: the main
# suite's 2023.03.04 fails on most sites and lacks the fix for CVE-2024-38519.
# Sites change faster than Debian: to run a newer yt-dlp, install it in a layer
# of your own and point YTDLP_PATH at it (see the README).
RUN printf 'Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    > /etc/apt/sources.list.d/bookworm-backports.sources \
  && apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg aria2 ca-certificates \
  && apt-get install -y --no-install-recommends -t bookworm-backports yt-dlp \
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
