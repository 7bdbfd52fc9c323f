/**
 * Query parameters every method of a Google REST API accepts besides its own: Google's system parameters
 * (https://cloud.google.com/apis/docs/system-parameters, URL query parameter column, `$name` and plain
 * forms) and the API-wide `parameters` of the Compute and Storage discovery documents (`access_token`,
 * `oauth_token`, `upload_protocol`, `uploadType`, `userIp`). The clients and gcloud send some of these on
 * every call: `$alt` (google-gax), `alt`, `prettyPrint`, `fields`, `$.xgafv`.
 */
export const SYSTEM_PARAMETERS: ReadonlySet<string> = new Set([
  '$alt',
  'alt',
  '$apiVersion',
  '$.xgafv',
  '$callback',
  'callback',
  '$ct',
  '$fields',
  'fields',
  '$key',
  'key',
  '$prettyPrint',
  'prettyPrint',
  'quotaUser',
  '$outputDefaults',
  '$unique',
  'access_token',
  'oauth_token',
  'upload_protocol',
  'uploadType',
  'userIp',
]);
