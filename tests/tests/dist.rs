//! The release images of `make dist` (`dist/out/`) through a real OCI registry: Debian's
//! `docker-registry` (distribution v2) on a free loopback port with its storage in a scratch
//! directory, `skopeo` to push the OCI layouts and pull them back. What comes back is what Istio
//! and Envoy Gateway read: the filter as a Wasm "compat" image (one tar+gzip layer holding only
//! `plugin.wasm`, the `module.wasm.image/variant=compat` manifest annotation), the rate-limit
//! service as a runnable `FROM scratch` image, each under the manifest digest `make dist` printed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)] // a test fails by panicking

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;
use sha2::{Digest, Sha256};
use tollgate_e2e::client::try_request;
use tollgate_e2e::ratelimit::{free_port, wait_for};
use tollgate_e2e::{root, scratch_dir, wasm_path, Process};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER_TAR_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// `dist/out/`, as `make dist` leaves it (`make test-e2e` runs it first).
fn dist_out() -> PathBuf {
    let out = root().join("dist/out");
    assert!(out.join("DIGESTS").exists(), "{} is incomplete: run `make dist` first", out.display());
    out
}

/// `dist/out/DIGESTS`: `NAME=VALUE` lines (VERSION, FILTER_MANIFEST_DIGEST, ...).
fn digests() -> HashMap<String, String> {
    let text = std::fs::read_to_string(dist_out().join("DIGESTS")).unwrap();
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

/// A registry on loopback, and skopeo pointed at it with a policy that accepts unsigned images.
struct Registry {
    port: u16,
    dir: PathBuf,
    _process: Process,
}

impl Registry {
    fn start(name: &str) -> Registry {
        let dir = scratch_dir(name);
        let port = free_port();
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: 127.0.0.1:{port}\n  secret: tollgate-e2e\n",
            dir.join("storage").display()
        );
        std::fs::write(dir.join("registry.yml"), config).unwrap();
        std::fs::write(
            dir.join("policy.json"),
            r#"{"default": [{"type": "insecureAcceptAnything"}]}"#,
        )
        .unwrap();
        let log = std::fs::File::create(dir.join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.join("registry.yml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry (Debian `docker-registry`; make test installs it)");
        let process = Process { child };
        wait_for("docker-registry", || {
            try_request(port, "GET", b"/v2/", &[], b"").is_ok_and(|r| r.status == 200)
        });
        Registry { port, dir, _process: process }
    }

    fn reference(&self, name_and_tag: &str) -> String {
        format!("docker://127.0.0.1:{}/{name_and_tag}", self.port)
    }

    /// Runs skopeo; returns its stdout, or fails with its stderr and the registry's log.
    fn skopeo(&self, args: &[&str]) -> Vec<u8> {
        let out = Command::new("skopeo")
            .arg("--policy")
            .arg(self.dir.join("policy.json"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("skopeo (Debian `skopeo`; make test installs it)");
        assert!(
            out.status.success(),
            "skopeo {args:?}: {}\nregistry log:\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default()
        );
        out.stdout
    }

    /// Pushes the OCI layout `dist/out/oci/{name}` tagged `tag` as `{name}:{tag}`.
    fn push(&self, name: &str, tag: &str) {
        let layout = dist_out().join("oci").join(name);
        let src = format!("oci:{}:{tag}", layout.display());
        self.skopeo(&[
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            &src,
            &self.reference(&format!("{name}:{tag}")),
        ]);
    }

    /// The manifest exactly as the registry serves it.
    fn manifest(&self, reference: &str) -> Vec<u8> {
        self.skopeo(&["inspect", "--raw", "--tls-verify=false", &self.reference(reference)])
    }

    /// The image config exactly as the registry serves it.
    fn config(&self, reference: &str) -> Vec<u8> {
        self.skopeo(&[
            "inspect",
            "--raw",
            "--config",
            "--tls-verify=false",
            &self.reference(reference),
        ])
    }

    /// Pulls `reference` into a `dir:` directory (manifest.json and one file per blob, named by
    /// its hex digest); returns the directory.
    fn pull(&self, reference: &str) -> PathBuf {
        let dir = self.dir.join("pulled").join(reference.replace([':', '@', '/'], "_"));
        std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
        let dest = format!("dir:{}", dir.display());
        self.skopeo(&[
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            &self.reference(reference),
            &dest,
        ]);
        dir
    }
}

/// Checks the parts every image of `make dist` shares and returns (manifest, config, the pulled
/// layer blob) as pulled from the registry, after checking that the registry serves the
/// manifest under the digest `make dist` printed, by tag and by digest.
fn pull_checked(
    registry: &Registry,
    name: &str,
    version: &str,
    digest: &str,
) -> (Value, Value, PathBuf) {
    let by_tag = format!("{name}:{version}");
    let raw = registry.manifest(&by_tag);
    assert_eq!(
        sha256(&raw),
        digest,
        "{by_tag}: the registry's manifest is not the one make dist printed"
    );
    let inspected: Value = serde_json::from_slice(&registry.skopeo(&[
        "inspect",
        "--tls-verify=false",
        &registry.reference(&by_tag),
    ]))
    .unwrap();
    assert_eq!(inspected["Digest"], digest, "{by_tag}: the digest the registry reports");
    let by_digest = format!("{name}@{digest}");
    assert_eq!(registry.manifest(&by_digest), raw, "pulling {by_digest} (a pinned reference)");

    let manifest: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(manifest["schemaVersion"], 2);
    assert_eq!(manifest["mediaType"], OCI_MANIFEST);
    assert_eq!(manifest["config"]["mediaType"], OCI_CONFIG);
    assert_eq!(manifest["annotations"]["org.opencontainers.image.version"], version);
    let layers = manifest["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 1, "{by_tag}: exactly one layer: {manifest}");
    assert_eq!(layers[0]["mediaType"], OCI_LAYER_TAR_GZIP);

    let raw_config = registry.config(&by_tag);
    assert_eq!(sha256(&raw_config), manifest["config"]["digest"].as_str().unwrap());
    let config: Value = serde_json::from_slice(&raw_config).unwrap();

    let pulled = registry.pull(&by_digest);
    assert_eq!(
        std::fs::read(pulled.join("manifest.json")).unwrap(),
        raw,
        "{by_tag}: pulled manifest"
    );
    let layer_digest = layers[0]["digest"].as_str().unwrap();
    let layer = pulled.join(layer_digest.trim_start_matches("sha256:"));
    let compressed = std::fs::read(&layer).unwrap();
    assert_eq!(sha256(&compressed), layer_digest);
    assert_eq!(compressed.len() as u64, layers[0]["size"].as_u64().unwrap());
    let diff_ids = config["rootfs"]["diff_ids"].as_array().expect("rootfs.diff_ids");
    assert_eq!(diff_ids.len(), 1);
    let tar = Command::new("gzip").arg("-dc").arg(&layer).output().unwrap();
    assert!(tar.status.success(), "gzip -dc: {}", String::from_utf8_lossy(&tar.stderr));
    assert_eq!(diff_ids[0], sha256(&tar.stdout), "{by_tag}: diff_id of the layer");
    (manifest, config, layer)
}

/// The entries of a tar+gzip layer, as `tar -tvz --numeric-owner` lists them (mode, owner,
/// size, time, name), and the layer unpacked into a fresh directory.
fn unpack(file: &Path) -> (Vec<String>, PathBuf) {
    let list = Command::new("tar")
        .args(["--numeric-owner", "--full-time", "-tvzf"])
        .arg(file)
        .env("TZ", "UTC")
        .output()
        .unwrap();
    assert!(list.status.success(), "tar -t: {}", String::from_utf8_lossy(&list.stderr));
    let entries = String::from_utf8_lossy(&list.stdout).lines().map(str::to_string).collect();
    let unpacked = scratch_dir("dist-unpacked");
    let extract =
        Command::new("tar").arg("-xzf").arg(file).arg("-C").arg(&unpacked).status().unwrap();
    assert!(extract.success(), "tar -x");
    (entries, unpacked)
}

#[test]
fn filter_image_is_a_wasm_compat_image_that_survives_a_registry() {
    let digests = digests();
    let (version, digest) = (&digests["VERSION"], &digests["FILTER_MANIFEST_DIGEST"]);
    let registry = Registry::start("dist-filter");
    registry.push("tollgate-filter", version);

    let (manifest, config, layer) = pull_checked(&registry, "tollgate-filter", version, digest);
    // Istio and Envoy Gateway take a single tar+gzip layer with plugin.wasm as the compat variant;
    // the spec asks for this annotation on such an image.
    assert_eq!(manifest["annotations"]["module.wasm.image/variant"], "compat", "{manifest}");
    assert_eq!(
        (config["architecture"].as_str(), config["os"].as_str()),
        (Some("wasm"), Some("wasip1"))
    );

    let (entries, unpacked) = unpack(&layer);
    assert_eq!(entries.len(), 1, "the layer holds only plugin.wasm: {entries:?}");
    let entry: Vec<&str> = entries[0].split_whitespace().collect();
    assert_eq!(entry[0], "-rw-r--r--", "{entries:?}");
    assert_eq!(entry[1], "0/0", "owned by root, as the reproducible build writes it: {entries:?}");
    assert_eq!(entry[3], "1970-01-01", "mtime 0: {entries:?}");
    assert_eq!(entry.last(), Some(&"plugin.wasm"));

    let plugin = std::fs::read(unpacked.join("plugin.wasm")).unwrap();
    assert!(plugin == std::fs::read(wasm_path()).unwrap(), "plugin.wasm is not the built filter");
    assert!(plugin == std::fs::read(dist_out().join("tollgate_filter.wasm")).unwrap());
    // What Envoy's remote data source (and an http source in Istio or Envoy Gateway) checks.
    assert_eq!(sha256(&plugin), format!("sha256:{}", digests["PLUGIN_WASM_SHA256"]));
}

#[test]
fn ratelimit_image_runs_the_static_service_as_nobody() {
    let digests = digests();
    let (version, digest) = (&digests["VERSION"], &digests["RATELIMIT_MANIFEST_DIGEST"]);
    let registry = Registry::start("dist-ratelimit");
    registry.push("tollgate-ratelimit", version);

    let (_, config, layer) = pull_checked(&registry, "tollgate-ratelimit", version, digest);
    assert_eq!(
        (config["architecture"].as_str(), config["os"].as_str()),
        (Some("amd64"), Some("linux"))
    );
    let run = &config["config"];
    assert_eq!(
        run["Entrypoint"],
        serde_json::json!(["/tollgate-ratelimit", "--listen", "0.0.0.0:8081"]),
        "{config}"
    );
    assert_eq!(run["User"], "65534", "{config}");
    let ports: Vec<&String> =
        run["ExposedPorts"].as_object().expect("ExposedPorts").keys().collect();
    assert_eq!(ports, ["8081/tcp"], "{config}");

    let (entries, unpacked) = unpack(&layer);
    assert_eq!(entries.len(), 1, "an empty base: the layer holds only the binary: {entries:?}");
    let entry: Vec<&str> = entries[0].split_whitespace().collect();
    assert_eq!((entry[0], entry[1]), ("-rwxr-xr-x", "0/0"), "{entries:?}");
    assert_eq!(entry.last(), Some(&"tollgate-ratelimit"));

    let binary = unpacked.join("tollgate-ratelimit");
    let bytes = std::fs::read(&binary).unwrap();
    assert!(bytes == std::fs::read(dist_out().join("tollgate-ratelimit-linux-x86_64")).unwrap());
    let musl = root().join("target/x86_64-unknown-linux-musl/release/tollgate-ratelimit");
    assert!(bytes == std::fs::read(&musl).unwrap(), "not the binary of {}", musl.display());
    // FROM scratch has no dynamic loader and no libc: the binary must need neither.
    let file = Command::new("file").arg("-b").arg(&binary).output().unwrap();
    let file = String::from_utf8_lossy(&file.stdout);
    assert!(
        file.contains("statically linked") || file.contains("static-pie linked"),
        "file: {file}"
    );
    let ldd = Command::new("ldd").arg(&binary).output().unwrap();
    let ldd = String::from_utf8_lossy(&ldd.stdout) + String::from_utf8_lossy(&ldd.stderr);
    assert!(
        ldd.contains("statically linked") || ldd.contains("not a dynamic executable"),
        "ldd: {ldd}"
    );
    // It runs outside any container (an empty environment, as on an empty base).
    let help = Command::new(&binary).arg("--help").env_clear().output().unwrap();
    let help = String::from_utf8_lossy(&help.stderr);
    assert!(
        help.starts_with("tollgate-ratelimit: usage: tollgate-ratelimit [--config FILE"),
        "{help}"
    );
}

/// The images are reproducible: `dist/build` again, on the same inputs into another directory,
/// gives the digests `make dist` printed; and SHA256SUMS covers every artifact.
#[test]
fn dist_images_are_reproducible_and_summed() {
    let digests = digests();
    let out = dist_out();
    let again = scratch_dir("dist-again").join("out");
    let musl = root().join("target/x86_64-unknown-linux-musl/release");
    let run = Command::new(root().join("dist/build"))
        .arg("--images-only")
        .args([wasm_path(), musl, again.clone()])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(run.status.success(), "dist/build: {}", String::from_utf8_lossy(&run.stderr));
    let text = std::fs::read_to_string(again.join("DIGESTS")).unwrap();
    for line in text.lines() {
        let (name, value) = line.split_once('=').unwrap();
        assert_eq!(digests.get(name), Some(&value.to_string()), "{name} of a second build");
    }

    let check = Command::new("sha256sum")
        .args(["--check", "--strict", "SHA256SUMS"])
        .current_dir(&out)
        .output()
        .unwrap();
    assert!(check.status.success(), "sha256sum -c: {}", String::from_utf8_lossy(&check.stdout));
    let sums = std::fs::read_to_string(out.join("SHA256SUMS")).unwrap();
    let summed: Vec<&str> =
        sums.lines().filter_map(|l| l.split_once("  ")).map(|(_, f)| f).collect();
    let mut files = Vec::new();
    let mut dirs = vec![out.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path.strip_prefix(&out).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    files.retain(|f| f != "SHA256SUMS");
    files.sort();
    assert_eq!(summed, files, "SHA256SUMS lists every file of dist/out");
    for artifact in ["tollgate_filter.wasm", "tollgate-ratelimit-linux-x86_64", "DIGESTS"] {
        assert!(summed.contains(&artifact), "{artifact} in SHA256SUMS");
    }
    assert_eq!(summed.iter().filter(|f| f.contains("/blobs/sha256/")).count(), 6, "{sums}");
}
