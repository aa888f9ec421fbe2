#!/bin/sh
# One-shot seed of the S3 emulator (docker-compose.yml, service s3-seed, profile "s3"), run in the
# MinIO client image:
#
#   seed.sh SOURCE_DIR
#
# creates S3_RAW_BUCKET and S3_REPORTS_BUCKET when missing, then uploads SOURCE_DIR (the raw tree:
# api/..., batch/...) to s3://S3_RAW_BUCKET/S3_RAW_PREFIX/, the location the services read when
# USE_S3=true. Objects already there with the same content are skipped, so it is safe on every
# `docker compose up`.
set -eu

src=${1:?usage: seed.sh SOURCE_DIR}
raw_bucket=${S3_RAW_BUCKET:-cityflow-raw-data}
reports_bucket=${S3_REPORTS_BUCKET:-cityflow-reports}
# S3_RAW_PREFIX as the services read it: empty means unset (the default, raw); no slash at either
# end, so "/" is the bucket's root.
prefix=${S3_RAW_PREFIX:-raw}
while [ "${prefix#/}" != "$prefix" ]; do prefix=${prefix#/}; done
while [ "${prefix%/}" != "$prefix" ]; do prefix=${prefix%/}; done

if [ -z "${AWS_ACCESS_KEY_ID:-}" ] || [ -z "${AWS_SECRET_ACCESS_KEY:-}" ]; then
  echo "s3-seed: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in .env (MinIO's root login)" >&2
  exit 1
fi
if [ ! -d "$src" ]; then
  echo "s3-seed: $src is not a folder (HOST_DATA_DIR_RAW)" >&2
  exit 1
fi

mc alias set cityflow http://s3:9000 "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" >/dev/null
mc mb --ignore-existing "cityflow/$raw_bucket"
mc mb --ignore-existing "cityflow/$reports_bucket"
mc mirror --overwrite "$src" "cityflow/$raw_bucket${prefix:+/$prefix}"
echo "s3-seed: $src uploaded to s3://$raw_bucket/${prefix:+$prefix/}"
