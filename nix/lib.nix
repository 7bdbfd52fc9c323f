# Pure helpers shared by the flake, the NixOS module and the tests.
# Builtins only: `nix eval --file nix/lib.nix` works without nixpkgs.
let
  inherit (builtins)
    concatStringsSep
    elem
    filter
    genList
    isString
    match
    stringLength
    substring
    throw
    ;

  characters = s: genList (i: substring i 1 s) (stringLength s);

  lowerCase = builtins.replaceStrings (characters "ABCDEFGHIJKLMNOPQRSTUVWXYZ") (
    characters "abcdefghijklmnopqrstuvwxyz"
  );

  # Joins the non-empty runs between dashes, so runs collapse and ends are trimmed.
  collapseDashes =
    s: concatStringsSep "-" (filter (part: isString part && part != "") (builtins.split "-+" s));

  maxImageNameLength = 63;

  imageSystems = {
    "x86_64-linux" = "X86_64";
    "aarch64-linux" = "ARM64";
  };

  byteUnits = {
    "" = 1;
    "K" = 1024;
    "M" = 1024 * 1024;
    "G" = 1024 * 1024 * 1024;
    "T" = 1024 * 1024 * 1024 * 1024;
  };
in
rec {
  # GCE image names: 1-63 characters matching [a-z]([-a-z0-9]*[a-z0-9])?
  isValidImageName =
    name:
    isString name
    && stringLength name <= maxImageNameLength
    && match "[a-z]([-a-z0-9]*[a-z0-9])?" name != null;

  # Turns any label (e.g. "nixos-image-23.11.x86_64-linux") into a valid GCE image name
  # ("nixos-image-23-11-x86-64-linux"): lower case, every other character a dash,
  # dash runs collapsed, a leading letter guaranteed, at most 63 characters.
  sanitiseImageName =
    name:
    let
      dashed = concatStringsSep "" (
        map (c: if match "[a-z0-9]" c != null then c else "-") (characters (lowerCase name))
      );
      collapsed = collapseDashes dashed;
      lettered =
        if match "[a-z].*" collapsed != null then
          collapsed
        else
          collapseDashes "nixos-${collapsed}";
      result = collapseDashes (substring 0 maxImageNameLength lettered);
    in
    if collapsed == "" then
      throw (
        "image name '${name}' has no letter or digit;"
        + " give imagePrefixName a value like 'nixos-gitlab-runner'."
      )
    else
      result;

  # The Nix system of an image -> GCE's `architecture` field.
  gceArchitecture =
    system:
    imageSystems.${system}
      or (throw (
        "image system '${system}' is not supported;"
        + " use one of: ${concatStringsSep ", " (builtins.attrNames imageSystems)}."
      ));

  supportedImageSystems = builtins.attrNames imageSystems;

  # builders.<system>.gceImage builds for <system> when that is a Linux image
  # system (so builders.aarch64-linux gives an Arm image), else x86_64-linux.
  defaultImageSystem =
    builderSystem: if imageSystems ? ${builderSystem} then builderSystem else "x86_64-linux";

  # The content of nix-support/gce-image.json (docs/architecture.md, "The image builder's output").
  gceImageMetadata =
    {
      system,
      efi,
      nixosRelease,
    }:
    if system == "aarch64-linux" && !efi then
      throw (
        "aarch64-linux images must boot with EFI;"
        + " set efi = true (GCE Arm machine types have no BIOS)."
      )
    else
      {
        inherit efi;
        architecture = gceArchitecture system;
        nixos = nixosRelease;
      };

  # "512M", "10G", "1T" or a plain number of bytes -> bytes.
  sizeToBytes =
    size:
    let
      text = toString size;
      parts = match "([0-9]+)([KMGT]?)" text;
    in
    if parts == null then
      throw (
        "size '${text}' is not a size;"
        + " write a whole number with an optional K, M, G or T suffix, e.g. \"10G\"."
      )
    else
      builtins.fromJSON (builtins.elemAt parts 0) * byteUnits.${builtins.elemAt parts 1};

  # The drain protocol's names, shared by the module, its script and the tests.
  drainProtocol = {
    metadataKey = "nix-glab-runner-drain";
    guestAttributeNamespace = "nix-glab-runner";
    serviceName = "nix-glab-runner-drain";
    attributes = {
      state = "drain-state";
      started = "drain-started";
      finished = "drain-finished";
      runningJobs = "running-jobs";
    };
    states = [
      "draining"
      "drained"
      "timeout"
    ];
  };

  isDrainState = state: elem state drainProtocol.states;

  # Upstream's defaults, kept for its users.
  defaultTokenFile = "/etc/gitlab-runner-env";
  defaultImageFamily = "nixos-image-gitlab-runner";
  defaultRunnerName = "nix";

  # Paths and names the module's parts and the VM tests agree on.
  paths = {
    # What nixpkgs' runner module sources: derived from tokenFile at each start, mode 0600.
    runnerEnv = "/run/nix-glab-runner/runner-env";
    # Persistent, so a drained VM stays drained across reboots.
    drainedMarker = "/var/lib/nix-glab-runner/drained";
    jobDaemonSocketDir = "/run/nix-glab-runner/job-daemon";
    # nixpkgs runs gitlab-runner with HOME=/var/lib/gitlab-runner.
    runnerConfig = "/var/lib/gitlab-runner/.gitlab-runner/config.toml";
  };
  daemonContainerName = "nix-glab-runner-nix-daemon";

  # Flags after `nix-glab-runner publish --image-file FILE`, as uploadGceImage passes them.
  # Upstream used the prefix as the whole image name, so every new build collided with the last one.
  # The CLI fills {hash} with the 32-character Nix hash; the prefix keeps at most 30 of the 63
  # characters.
  imageNameTemplate =
    prefix:
    let
      short = substring 0 30 (sanitiseImageName prefix);
    in
    "${builtins.head (match "(.*[a-z0-9])-*" short)}-{hash}";

  publishFlags =
    {
      bucket,
      imagePrefixName,
      family ? defaultImageFamily,
      project ? null,
    }:
    [
      "--bucket"
      bucket
      "--family"
      family
      "--image-name"
      (imageNameTemplate imagePrefixName)
    ]
    ++ (
      if project == null then
        [ ]
      else
        [
          "--project"
          project
        ]
    );
}
