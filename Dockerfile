FROM python:3.11-slim

# A CPU build of torch keeps the image small: pass the CPU wheel index of PyTorch as
# --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu (without it pip picks the
# default, CUDA-enabled build).
ARG TORCH_INDEX_URL=
WORKDIR /srv
RUN useradd --create-home --uid 10001 cinnamon \
 && mkdir -p /srv/data && chown cinnamon:cinnamon /srv/data
COPY pyproject.toml README.md ./
COPY app ./app
COPY config ./config
COPY evaluation ./evaluation
COPY jobs ./jobs
COPY preprocessing ./preprocessing
COPY synthesizers ./synthesizers
COPY gunicorn.conf.py ./
RUN pip install --no-cache-dir ${TORCH_INDEX_URL:+--index-url "$TORCH_INDEX_URL"} torch==2.13.0 \
 && pip install --no-cache-dir '.[sdv,scale]'
USER cinnamon
ENV CINNAMON_BIND=0.0.0.0:8000 CINNAMON_DATA_DIR=/srv/data
VOLUME ["/srv/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request, sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/api/v1/ready', timeout=4).status != 200)"
# Gunicorn's hooks start the job runner (or, with CINNAMON_RUNNER=celery, the dispatcher)
# beside the web workers; SIGTERM drains requests and hands running jobs back to the queue.
# The same image runs a Celery worker: celery -A jobs.celery_app worker --pool solo (see
# docker-compose.scale.yml).
STOPSIGNAL SIGTERM
CMD ["gunicorn", "-c", "gunicorn.conf.py"]
