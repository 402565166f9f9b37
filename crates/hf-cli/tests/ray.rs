//! hf-ray on a real Ray cluster: two Ray nodes on this machine (started by the test, bound to
//! loopback, stopped at the end), `hf plan` on the driver, chunks as Ray tasks on both nodes,
//! `hf assemble`: the bytes of `hf render`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The repo's venv with Ray and hf-ray (made by ./setup.sh).
fn venv_bin(name: &str) -> PathBuf {
    let path = workspace().join(".venv/bin").join(name);
    assert!(
        path.is_file(),
        "{} is missing: run ./setup.sh (it installs Ray 2.60 and hf-ray into .venv)",
        path.display()
    );
    path
}

fn run(command: &mut Command) -> Output {
    let out = command
        .env("RAY_USAGE_STATS_ENABLED", "0")
        .output()
        .expect("the command runs");
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A two-node Ray cluster on loopback, stopped when dropped.
struct Cluster {
    address: String,
}

impl Cluster {
    fn start(temp: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let address = format!("127.0.0.1:{port}");
        let common = [
            "--num-cpus=1",
            "--node-ip-address=127.0.0.1",
            "--object-store-memory=100000000",
            "--disable-usage-stats",
        ];
        let ray = venv_bin("ray");
        let cluster = Cluster {
            address: address.clone(),
        };
        run(Command::new(&ray)
            .args([
                "start",
                "--head",
                &format!("--port={port}"),
                "--include-dashboard=false",
            ])
            .arg(format!("--temp-dir={}", temp.display()))
            .args(common));
        run(Command::new(&ray)
            .args(["start", &format!("--address={address}")])
            .args(common));
        cluster
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new(venv_bin("ray"))
            .args(["stop", "--force"])
            .output();
    }
}

#[test]
fn hf_ray_renders_on_two_ray_nodes_the_bytes_of_hf_render() {
    let tmp = tempfile::tempdir().unwrap();
    let hf = env!("CARGO_BIN_EXE_hf");
    let fixture = workspace().join("fixtures/media/src");
    let flags = ["--segment-frames", "30", "-q", "draft"];
    run(Command::new(hf)
        .arg("render")
        .arg(&fixture)
        .arg("-o")
        .arg(tmp.path().join("render.mp4"))
        .arg("--quiet")
        .args(flags));

    // Ray's session files go under a short path of the test's own (Ray limits socket paths).
    let ray_temp = PathBuf::from(format!("/tmp/hf-ray-test-{}", std::process::id()));
    let cluster = Cluster::start(&ray_temp);
    let output = tmp.path().join("ray.mp4");
    let out = run(Command::new(venv_bin("hf-ray"))
        .arg("render")
        .arg(&fixture)
        .arg("-o")
        .arg(&output)
        .args([
            "--chunks",
            "3",
            "--report",
            "--hf",
            hf,
            "--address",
            &cluster.address,
        ])
        .args(flags));
    drop(cluster);
    let _ = std::fs::remove_dir_all(&ray_temp);

    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("a JSON report on stdout");
    let chunks = report["chunks"].as_array().unwrap();
    assert_eq!(chunks.len(), 3);
    let frames: u64 = chunks.iter().map(|c| c["frames"].as_u64().unwrap()).sum();
    assert_eq!(frames, 90, "the chunks cover the render");
    let nodes: std::collections::BTreeSet<&str> =
        chunks.iter().map(|c| c["node"].as_str().unwrap()).collect();
    assert_eq!(nodes.len(), 2, "both Ray nodes rendered chunks: {nodes:?}");
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(progress.contains("chunk 2 done"), "{progress}");
    assert_eq!(
        std::fs::read(&output).unwrap(),
        std::fs::read(tmp.path().join("render.mp4")).unwrap(),
        "hf-ray wrote the bytes hf render writes"
    );
}
