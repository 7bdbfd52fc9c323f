# Writes the runner's token file from a Secret Manager secret version, read with
# the VM's service account through the metadata server, which jobs cannot reach.
# The secret's payload is the token file itself, e.g.
#   CI_SERVER_URL=https://gitlab.com
#   CI_SERVER_TOKEN=glrt-...
# Usage: nix-glab-runner-fetch-token SECRET_VERSION TOKEN_FILE
# Environment: METADATA_URL, and SECRET_MANAGER_URL (optional).
secret=$1
token_file=$2
api=${SECRET_MANAGER_URL:-https://secretmanager.googleapis.com/v1}

if [[ ! "$secret" =~ ^projects/[^/]+/secrets/[^/]+/versions/[^/]+$ ]]; then
  echo "secret '$secret' is not projects/PROJECT/secrets/NAME/versions/VERSION (VERSION may be latest)." >&2
  exit 1
fi

# Prints one string field of a JSON object. Enough for Google's answers here:
# tokens and base64 payloads hold no quotes or escapes.
json_field() {
  sed -n 's/.*"'"$1"'"[[:space:]]*:[[:space:]]*"\([^"\\]*\)".*/\1/p' "$2" | head -n 1
}

umask 077
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! curl --silent --show-error --fail --max-time 20 -H 'Metadata-Flavor: Google' \
  -o "$work/access.json" "$METADATA_URL/instance/service-accounts/default/token" ||
  ! access=$(json_field access_token "$work/access.json") || [ -z "$access" ]; then
  echo "could not get an access token for the VM's service account from the metadata server; give the VM a service account with the cloud-platform scope." >&2
  exit 1
fi
# A header file keeps the access token out of the process list.
printf 'Authorization: Bearer %s\n' "$access" >"$work/authorization"

code=$(curl --silent --max-time 30 -H "@$work/authorization" -o "$work/response.json" \
  -w '%{http_code}' "$api/$secret:access" || true)
if [ "$code" != 200 ]; then
  echo "Secret Manager answered ${code:-nothing} for $secret; check that the secret version exists and that the VM's service account has roles/secretmanager.secretAccessor on it." >&2
  exit 1
fi

partial="$token_file.partial"
payload=$(tr -d '\n' <"$work/response.json" | sed 's/.*"payload"[[:space:]]*:[[:space:]]*{//' >"$work/payload.json" && json_field data "$work/payload.json")
if [ -z "$payload" ] || ! printf '%s' "$payload" | base64 -d >"$partial"; then
  rm -f "$partial"
  echo "Secret Manager's answer for $secret has no base64 payload.data." >&2
  exit 1
fi
chmod 0600 "$partial"
mv -f "$partial" "$token_file"
echo "token file $token_file written from $secret"
