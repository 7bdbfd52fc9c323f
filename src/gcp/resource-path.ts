/**
 * Compute Engine refers to resources by full URL (`https://compute.googleapis.com/compute/v1/projects/…`),
 * by partial path (`projects/p/global/images/x`) or, within a project, by bare name. Comparisons happen on
 * the partial path, so a link from any endpoint (Google's, a private one, the emulator) compares equal.
 */
export function resourcePath(ref: string): string {
  const at = ref.indexOf('projects/');
  return at >= 0 ? ref.slice(at).replace(/[?#].*$/, '') : ref;
}

/** The last path segment: a resource's name. */
export function lastSegment(ref: string): string {
  return ref.slice(ref.lastIndexOf('/') + 1);
}

/** The image path a `sourceImage` names, `projects/P/global/images/N` or `…/images/family/F`. */
export function imagePath(project: string, ref: string): string {
  const path = resourcePath(ref);
  if (path.startsWith('projects/')) return path;
  if (path.startsWith('global/')) return `projects/${project}/${path}`;
  return `projects/${project}/global/images/${lastSegment(path)}`;
}
