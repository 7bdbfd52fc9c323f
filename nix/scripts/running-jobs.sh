# Prints how many CI jobs have containers on this host.
# gitlab-runner labels every container of a job with the job's id.
if ! ids=$(docker ps --filter label=com.gitlab.gitlab-runner.job.id --format '{{.Label "com.gitlab.gitlab-runner.job.id"}}' 2>/dev/null); then
  # No Docker daemon means no job containers.
  echo 0
  exit 0
fi
printf '%s\n' "$ids" | sed '/^$/d' | sort -u | wc -l
