#!/bin/sh
# Entrypoint of the S3 emulator (docker-compose.yml, profile "s3"), in front of the MinIO image's
# own docker-entrypoint.sh. MinIO's root login is the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
# pair from .env, the pair the services' AWS SDK signs with, so one pair in .env serves both.
# Without it MinIO would start with its well-known default login: refuse instead, and say why.
set -eu

user=${AWS_ACCESS_KEY_ID:-}
password=${AWS_SECRET_ACCESS_KEY:-}
if [ "${#user}" -lt 3 ] || [ "${#password}" -lt 8 ]; then
  echo "s3 profile: set AWS_ACCESS_KEY_ID (3+ characters) and AWS_SECRET_ACCESS_KEY (8+ characters) in .env;" >&2
  echo "they are MinIO's root login and the credentials the CityFlow services use (e.g. AWS_SECRET_ACCESS_KEY=\$(openssl rand -hex 24))" >&2
  exit 1
fi

MINIO_ROOT_USER=$user
MINIO_ROOT_PASSWORD=$password
export MINIO_ROOT_USER MINIO_ROOT_PASSWORD
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY

exec docker-entrypoint.sh "$@"
