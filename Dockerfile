# One image for the worker (default command), the bot, the HTTP API and the migration
# job. The code stays TypeScript and runs under tsx's loader in the same Node process
# (no npx, no tsx CLI wrapper process, so signals reach the app directly):
#   worker:  node --import tsx workers/main.ts
#   bot:     node --import tsx bot/main.ts
#   api:     node --import tsx api/main.ts
#   migrate: node --import tsx scripts/migrate.ts
#
# Node 24, the active LTS (supported until 2028-04-30), on Debian 12: glibc, as
# Temporal advises for the TypeScript worker (its native core is not meant for
# Alpine/musl). Its npm 11 wants every platform's optional packages in the lock file
# (the unit test of this file checks that ours has them), so `npm ci` works on arm64
# hosts too. The code also runs on Node 22 and 20.
FROM node:24-bookworm-slim

# ffmpeg merges and converts, aria2 serves USE_ARIA2C=true, ca-certificates is for
# HTTPS (it also pulls in openssl, which the Prisma CLI uses to pick its engine
# build), python3-venv holds yt-dlp below.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ffmpeg aria2 ca-certificates python3 python3-venv \
  && rm -rf /var/lib/apt/lists/*

# A current yt-dlp. Debian 12's own (2023.03.04) fails on most sites and lacks the
# fix for CVE-2024-38519, and even bookworm-backports' (2025.04.30) is too old for
# YouTube, which since 2025.11.12 needs a JavaScript runtime and yt-dlp-ejs (the
# worker offers yt-dlp its own Node through --js-runtimes). So yt-dlp comes from PyPI
# with its default extras (yt-dlp-ejs among them) into a virtual environment, pinned
# by version; sites change faster than releases, so rebuild with a newer one:
#   docker compose build --build-arg YTDLP_VERSION=<release>
# /opt/yt-dlp/bin comes first on PATH, so the default YTDLP_PATH=yt-dlp finds it.
ARG YTDLP_VERSION=2026.10.26
RUN python3 -m venv /opt/yt-dlp \
  && /opt/yt-dlp/bin/pip install --no-cache-dir --disable-pip-version-check "yt-dlp[default]==${YTDLP_VERSION}" \
  && /opt/yt-dlp/bin/yt-dlp --version
ENV PATH=/opt/yt-dlp/bin:$PATH

WORKDIR /app
# The app's folders, owned by the unprivileged `node` user (uid 1000) of the base
# image: named volumes mounted on them start with this owner and mode.
RUN chown node:node /app \
  && install -d -o node -g node /app/downloads \
  && install -d -o node -g node -m 0700 /var/lib/mediadl /var/lib/mediadl/attempts

USER node

# Dependencies first, so source edits do not reinstall them: exactly the lock file's
# versions (npm ci), without dev dependencies (tsx and the Prisma CLI are runtime
# ones). PRISMA_SCHEMA_ENGINE_BINARY names any existing file so that neither the
# engines' postinstall nor `prisma generate` downloads a native schema engine: the
# migrations run on the WASM one (lib/migrations.ts), so the build needs no network
# beyond the package registries.
COPY --chown=node:node package.json package-lock.json ./
RUN PRISMA_SCHEMA_ENGINE_BINARY=/app/package.json npm ci --omit=dev --no-audit --no-fund \
  && npm cache clean --force

COPY --chown=node:node . .
# Writes the Prisma client to lib/generated/prisma; needs no database.
RUN PRISMA_SCHEMA_ENGINE_BINARY=/app/package.json PRISMA_HIDE_UPDATE_MESSAGE=1 ./node_modules/.bin/prisma generate
# The workflow bundle, built once here: workers load it (WORKFLOW_BUNDLE) instead of
# running webpack at every start. Same code as the image, so it cannot drift.
RUN node --import tsx scripts/bundle-workflows.ts /app/dist/workflow-bundle.js

ENV NODE_ENV=production \
    WORKFLOW_BUNDLE=/app/dist/workflow-bundle.js \
    DOWNLOAD_DIR=/app/downloads \
    MONITOR_JOURNAL_DIR=/var/lib/mediadl/attempts

CMD ["node", "--import", "tsx", "workers/main.ts"]
