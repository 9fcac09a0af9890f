# The service image: migrate, then serve. Configure with the environment names in README.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /srv
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY migrations ./migrations
RUN pip install . && useradd --system --home /srv --uid 10001 followup \
    && mkdir -p /srv/data && chown followup /srv /srv/data
USER followup
# The SQLite default lives in a volume; production sets DATABASE_URL to PostgreSQL.
ENV DATABASE_URL=sqlite+aiosqlite:////srv/data/followup.db
VOLUME ["/srv/data"]
EXPOSE 8000
CMD ["python", "-m", "app", "serve", "--host", "0.0.0.0", "--port", "8000"]
