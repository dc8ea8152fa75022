# The production image: gunicorn serves the app; the same image runs the Celery worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

RUN useradd --create-home --uid 10001 borrowdesk
COPY . .
RUN pip install --no-cache-dir -e . \
 && SECRET_KEY=build-only DATABASE_URL=postgres://build@localhost/build REDIS_URL=redis://localhost:6379/0 \
    python manage.py collectstatic --noinput \
 && chown -R borrowdesk /app/var

USER borrowdesk
EXPOSE 8000
CMD ["gunicorn", "borrowdesk.wsgi", "--bind", "0.0.0.0:8000", "--workers", "4", "--access-logfile", "-"]
