# Turns the token file written at boot into the environment file that nixpkgs'
# gitlab-runner module sources before `gitlab-runner register`.
# Usage: nix-glab-runner-runner-env TOKEN_FILE OUTPUT_FILE WAIT_SECONDS TAG_LIST
# The token never reaches stdout, stderr or the Nix store.
token_file=$1
output_file=$2
wait_seconds=$3
tag_list=$4

# The startup script may write the file after we start: wait a little, then
# fail so systemd retries with backoff instead of giving up.
waited=0
while [ ! -s "$token_file" ]; do
  if [ "$waited" -ge "$wait_seconds" ]; then
    echo "token file $token_file is missing or empty after ${wait_seconds}s; write CI_SERVER_URL and CI_SERVER_TOKEN into it (for example from the instance startup script); retrying with backoff." >&2
    exit 1
  fi
  sleep 2
  waited=$((waited + 2))
done

if [ "$(stat -c %u "$token_file")" != 0 ]; then
  chown 0:0 "$token_file"
fi
chmod 0600 "$token_file"

declare -A values=()
line_number=0
while IFS= read -r line || [ -n "$line" ]; do
  line_number=$((line_number + 1))
  line=${line%$'\r'}
  case "$line" in
    '' | '#'*) continue ;;
  esac
  line=${line#export }
  if [[ ! "$line" =~ ^([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]]; then
    echo "token file $token_file line $line_number is not KEY=VALUE; write one KEY=VALUE per line." >&2
    exit 1
  fi
  key=${BASH_REMATCH[1]}
  value=${BASH_REMATCH[2]}
  if [[ "$value" =~ ^\"(.*)\"$ ]] || [[ "$value" =~ ^\'(.*)\'$ ]]; then
    value=${BASH_REMATCH[1]}
  fi
  values[$key]=$value
done <"$token_file"

url=${values[CI_SERVER_URL]:-}
token=${values[CI_SERVER_TOKEN]:-}
registration=${values[REGISTRATION_TOKEN]:-}
unset 'values[CI_SERVER_URL]' 'values[CI_SERVER_TOKEN]' 'values[REGISTRATION_TOKEN]'

if [[ ! "$url" =~ ^https?://[^[:space:]]+$ ]]; then
  echo "token file $token_file needs CI_SERVER_URL=https://your.gitlab.host (an http or https URL)." >&2
  exit 1
fi

# Upstream's README writes REGISTRATION_TOKEN=glrt-...: that is an authentication token.
if [ -z "$token" ] && [[ "$registration" == glrt-* ]]; then
  token=$registration
  registration=
fi

if [ -n "$token" ] && [ -n "$registration" ]; then
  echo "token file $token_file sets both CI_SERVER_TOKEN and a legacy REGISTRATION_TOKEN; keep only CI_SERVER_TOKEN=glrt-..." >&2
  exit 1
fi
if [ -z "$token" ] && [ -z "$registration" ]; then
  echo "token file $token_file needs CI_SERVER_TOKEN=glrt-... (the runner authentication token from GitLab)." >&2
  exit 1
fi

umask 077
mkdir -p "$(dirname "$output_file")"
partial="$output_file.partial"
{
  printf 'CI_SERVER_URL=%q\n' "$url"
  if [ -n "$token" ]; then
    printf 'CI_SERVER_TOKEN=%q\n' "$token"
  else
    printf 'REGISTRATION_TOKEN=%q\n' "$registration"
    if [ -n "$tag_list" ]; then
      printf 'RUNNER_TAG_LIST=%q\n' "$tag_list"
    fi
  fi
  for key in "${!values[@]}"; do
    printf '%s=%q\n' "$key" "${values[$key]}"
  done
} >"$partial"
mv -f "$partial" "$output_file"

if [ -z "$token" ]; then
  echo "warning: $token_file holds a legacy registration token; GitLab 18 removed them, so create the runner in GitLab and use its glrt- token." >&2
fi
echo "runner environment written to $output_file"
