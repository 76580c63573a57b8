# Claude Code Server in a container (docs/deployment.md).
#
#   docker build -t claude-code-server .
#   docker run -d --name claude -p 3001:3001 -v claude-data:/data --env-file claude.env claude-code-server
#
# It asks for a login, as it always does: set AUTH_TOKEN or CCS_PASSWORD in the env file, or read
# the login URL it prints with `docker logs claude` (its token is kept in the volume). Behind a
# reverse proxy, set FORWARDED_ALLOW_IPS in the env file to the address the proxy connects from.
# Everything that must survive the container lives in the /data volume: the projects, the
# server's state (/data/projects/.server) and the Claude Code CLI's own home (/data/home/.claude,
# whose saved conversations are what `resume` needs).
FROM python:3.11-slim-bookworm

# git: the git panel and the CLI; openssh-client: git over ssh; ripgrep: the CLI's search;
# tini: reaps the processes that tools leave behind and passes SIGTERM on for a clean stop.
# Versions come from the Debian release the image is built on (its security updates included).
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates git openssh-client ripgrep tini \
    && rm -rf /var/lib/apt/lists/*

# A user of its own: the CLI runs every tool with these rights.
RUN useradd --uid 10001 --user-group --home-dir /data/home --shell /bin/bash claude \
    && mkdir -p /data/home /data/projects \
    && chown -R claude:claude /data

WORKDIR /app

# The dependencies first, in a layer of their own: a change to the code does not download them again.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install --no-cache-dir -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY . .
# The server runs from /app, which its user cannot write: compile the bytecode now, once.
RUN pip install --no-cache-dir --no-deps . \
    && python -m compileall -q /app

ENV HOST=0.0.0.0 \
    PORT=3001 \
    PROJECTS_ROOT=/data/projects \
    HOME=/data/home \
    NICEGUI_STORAGE_PATH=/data/nicegui \
    DISABLE_AUTOUPDATER=1 \
    PYTHONUNBUFFERED=1

# By number, so that Kubernetes' runAsNonRoot can check it.
USER 10001:10001
VOLUME ["/data"]
EXPOSE 3001

# /login answers without a login and costs no page build.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/login' % os.environ.get('PORT', '3001'), timeout=4)"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["python", "main.py"]
