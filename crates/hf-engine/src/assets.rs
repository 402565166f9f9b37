//! A content-addressed cache of remote assets (scripts, stylesheets, fonts, images) so a render
//! never fetches at capture time and air-gapped machines can render pages that name a CDN.
//!
//! Layout under the cache dir: `blobs/<sha256 of content>` holds bytes, `urls/<sha256 of url>`
//! holds the content hash a URL resolved to. `hf cache import <url> <file>` writes both.
//! Downloads try the URL itself, then, for npm CDNs (jsDelivr, unpkg, cdnjs), the package
//! tarball from the npm registry.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The asset cache.
#[derive(Debug, Clone)]
pub struct AssetCache {
    dir: PathBuf,
    allow_private_network: bool,
}

/// The largest asset downloaded, in bytes.
pub const MAX_ASSET_BYTES: u64 = 512 * 1024 * 1024;
/// Redirects followed per download (each hop checked like the first URL).
const MAX_REDIRECTS: usize = 5;

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

impl AssetCache {
    /// `HF_CACHE_DIR`, else `$XDG_CACHE_HOME/hf`, else `~/.cache/hf`.
    pub fn default_dir() -> PathBuf {
        if let Some(dir) = std::env::var_os("HF_CACHE_DIR").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir);
        }
        if let Some(dir) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
            return PathBuf::from(dir).join("hf");
        }
        let home = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        home.join(".cache").join("hf")
    }

    /// The cache at `dir` (created on first write).
    pub fn at(dir: impl Into<PathBuf>) -> Self {
        AssetCache {
            dir: dir.into(),
            allow_private_network: false,
        }
    }

    /// Let pages name assets on loopback, private and link-local addresses (refused by
    /// default: a composition must not reach this machine's or its network's services).
    pub fn allow_private_network(mut self, allow: bool) -> Self {
        self.allow_private_network = allow;
        self
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn url_entry(&self, url: &str) -> PathBuf {
        self.dir.join("urls").join(sha256_hex(url.as_bytes()))
    }

    /// The cached bytes of `url`, if present and intact.
    pub fn get(&self, url: &str) -> Option<Vec<u8>> {
        let hash = std::fs::read_to_string(self.url_entry(url)).ok()?;
        let bytes = std::fs::read(self.dir.join("blobs").join(hash.trim())).ok()?;
        (sha256_hex(&bytes) == hash.trim()).then_some(bytes)
    }

    /// Store `bytes` as the content of `url`.
    pub fn put(&self, url: &str, bytes: &[u8]) -> std::io::Result<()> {
        let hash = sha256_hex(bytes);
        write_atomic(&self.dir.join("blobs").join(&hash), bytes)?;
        write_atomic(&self.url_entry(url), hash.as_bytes())
    }

    /// The bytes of `url`: from the cache, else downloaded (and cached).
    pub fn fetch(&self, url: &str) -> Result<Vec<u8>, String> {
        if let Some(bytes) = self.get(url) {
            return Ok(bytes);
        }
        let guard = (!self.allow_private_network).then_some(PublicOnly);
        let bytes = match download(url, guard) {
            Ok(bytes) => bytes,
            Err(direct) => match npm_source(url) {
                Some(source) => self
                    .fetch_from_npm(&source)
                    .map_err(|npm| format!("{direct}; npm registry fallback: {npm}"))?,
                None => return Err(direct),
            },
        };
        self.put(url, &bytes)
            .map_err(|e| format!("cannot write the asset cache {}: {e}", self.dir.display()))?;
        Ok(bytes)
    }

    fn fetch_from_npm(&self, source: &NpmSource) -> Result<Vec<u8>, String> {
        let registry = std::env::var("HF_NPM_REGISTRY")
            .unwrap_or_else(|_| "https://registry.npmjs.org".to_string());
        let registry = registry.trim_end_matches('/');
        let packument_url = format!("{registry}/{}", source.package.replace('/', "%2F"));
        // The registry is the operator's choice, not the page's: no address check.
        let packument: serde_json::Value = serde_json::from_slice(&download(&packument_url, None)?)
            .map_err(|e| format!("{packument_url} is not JSON: {e}"))?;
        let version = resolve_version(&packument, &source.version).ok_or_else(|| {
            format!(
                "no version of {} matches \"{}\"",
                source.package, source.version
            )
        })?;
        let meta = &packument["versions"][&version];
        let tarball_url = meta["dist"]["tarball"]
            .as_str()
            .ok_or_else(|| format!("{}@{version} has no tarball", source.package))?;
        let tarball = match self.get(tarball_url) {
            Some(bytes) => bytes,
            None => {
                let bytes = download(tarball_url, None)?;
                let _ = self.put(tarball_url, &bytes);
                bytes
            }
        };
        let mut candidates: Vec<String> = Vec::new();
        let path = source.path.trim_start_matches('/');
        if path.is_empty() {
            for field in ["jsdelivr", "unpkg", "browser", "main"] {
                if let Some(entry) = meta[field].as_str() {
                    candidates.push(entry.trim_start_matches("./").to_string());
                }
            }
        } else {
            candidates.push(path.to_string());
            if source.cdnjs {
                candidates.push(format!("dist/{path}"));
            }
        }
        extract_from_tarball(&tarball, &candidates).ok_or_else(|| {
            format!(
                "{}@{version} has no file {}",
                source.package,
                candidates.join(" or ")
            )
        })
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let parent = path.parent().expect("cache paths have a parent");
    std::fs::create_dir_all(parent)?;
    // A unique temp file per writer: concurrent renders may store the same asset at once.
    let mut temp = tempfile::NamedTempFile::new_in(parent)?;
    temp.write_all(bytes)?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Downloads named by a page may only reach public addresses.
#[derive(Debug, Clone, Copy)]
struct PublicOnly;

impl PublicOnly {
    /// An error when `url`'s host is (or resolves to) a loopback, private, link-local or
    /// otherwise non-public address.
    fn check(self, url: &str) -> Result<(), String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("{url} is not a URL: {e}"))?;
        let host = parsed.host_str().unwrap_or_default();
        let port = parsed.port_or_known_default().unwrap_or(80);
        let addresses: Vec<std::net::IpAddr> =
            std::net::ToSocketAddrs::to_socket_addrs(&(host.trim_matches(['[', ']']), port))
                .map_err(|e| format!("cannot resolve {host}: {e}"))?
                .map(|a| a.ip())
                .collect();
        match addresses.iter().find(|ip| !is_public(ip)) {
            Some(ip) => Err(format!(
                "{host} is a private address ({ip}), which a composition may not reach; pass \
                 --allow-private-network to fetch it"
            )),
            None => Ok(()),
        }
    }
}

/// Whether `ip` is a global address (not loopback, private, link-local, CGNAT, unique-local,
/// unspecified, multicast or documentation).
fn is_public(ip: &std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || (a == 100 && (64..128).contains(&b))
                || a == 0)
        }
        std::net::IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(&std::net::IpAddr::V4(v4));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

/// GET `url` (following at most [`MAX_REDIRECTS`] redirects, each checked by `guard`),
/// refusing bodies over [`MAX_ASSET_BYTES`].
fn download(url: &str, guard: Option<PublicOnly>) -> Result<Vec<u8>, String> {
    // The platform verifier trusts the system's CA store (corporate proxies add their CA there).
    let tls = ureq::tls::TlsConfig::builder()
        .root_certs(ureq::tls::RootCerts::PlatformVerifier)
        .build();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_global(Some(Duration::from_secs(15)))
        .max_redirects(0)
        .http_status_as_error(false)
        .build()
        .into();
    let mut current = url.to_string();
    for _ in 0..=MAX_REDIRECTS {
        if let Some(guard) = guard {
            guard.check(&current)?;
        }
        let mut response = agent.get(&current).call().map_err(|e| e.to_string())?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| format!("{current} redirects without a Location"))?;
            current = url::Url::parse(&current)
                .and_then(|base| base.join(location))
                .map_err(|e| format!("{current} redirects to a bad URL {location}: {e}"))?
                .to_string();
            continue;
        }
        if !status.is_success() {
            return Err(format!("http status: {}", status.as_u16()));
        }
        let mut bytes = Vec::new();
        response
            .body_mut()
            .with_config()
            .limit(MAX_ASSET_BYTES + 1)
            .reader()
            .take(MAX_ASSET_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| e.to_string())?;
        if bytes.len() as u64 > MAX_ASSET_BYTES {
            return Err(format!(
                "it is larger than the {} MB an asset may be",
                MAX_ASSET_BYTES / (1024 * 1024)
            ));
        }
        return Ok(bytes);
    }
    Err(format!("more than {MAX_REDIRECTS} redirects"))
}

/// A file inside an npm package, as named by a CDN URL.
#[derive(Debug, Clone, PartialEq)]
pub struct NpmSource {
    /// Package name (`gsap`, `@lottiefiles/lottie-player`).
    pub package: String,
    /// Version or range as written (`3.14.2`, `3`, `^3.12`, empty for latest).
    pub version: String,
    /// Path inside the package (may be empty: the package's main file).
    pub path: String,
    /// cdnjs names files without their `dist/` folder.
    pub cdnjs: bool,
}

/// The npm package file a jsDelivr, unpkg or cdnjs URL serves, if it is one.
pub fn npm_source(url: &str) -> Option<NpmSource> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .or_else(|| url.strip_prefix("//"))?;
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    let (host, path) = rest.split_once('/')?;
    let spec = match host {
        "cdn.jsdelivr.net" | "fastly.jsdelivr.net" => path.strip_prefix("npm/")?,
        "unpkg.com" => path,
        "cdnjs.cloudflare.com" => {
            let path = path.strip_prefix("ajax/libs/")?;
            let mut parts = path.splitn(3, '/');
            let (package, version, file) = (parts.next()?, parts.next()?, parts.next()?);
            return Some(NpmSource {
                package: package.to_string(),
                version: version.to_string(),
                path: file.to_string(),
                cdnjs: true,
            });
        }
        _ => return None,
    };
    // `@scope/name@ver/path` or `name@ver/path` or `name/path`.
    let (name_part, path) = if let Some(scoped) = spec.strip_prefix('@') {
        let (scope, rest) = scoped.split_once('/')?;
        let (name, path) = rest.split_once('/').unwrap_or((rest, ""));
        (format!("@{scope}/{name}"), path)
    } else {
        let (name, path) = spec.split_once('/').unwrap_or((spec, ""));
        (name.to_string(), path)
    };
    let (package, version) = match name_part[1..].find('@') {
        Some(at) => (
            name_part[..at + 1].to_string(),
            name_part[at + 2..].to_string(),
        ),
        None => (name_part, String::new()),
    };
    Some(NpmSource {
        package,
        version,
        path: path.to_string(),
        cdnjs: false,
    })
}

fn version_key(version: &str) -> Option<Vec<u64>> {
    if version.contains('-') {
        return None;
    }
    version.split('.').map(|p| p.parse().ok()).collect()
}

/// The newest published version matching `wanted`: exact, a dist-tag, or a prefix such as
/// `3` or `3.12` (`^` and `~` are read as prefixes of their major or minor).
fn resolve_version(packument: &serde_json::Value, wanted: &str) -> Option<String> {
    let versions = packument["versions"].as_object()?;
    if versions.contains_key(wanted) {
        return Some(wanted.to_string());
    }
    let tag = if wanted.is_empty() { "latest" } else { wanted };
    if let Some(tagged) = packument["dist-tags"][tag].as_str() {
        return Some(tagged.to_string());
    }
    let prefix = if let Some(caret) = wanted.strip_prefix('^') {
        caret.split('.').next().unwrap_or("").to_string()
    } else if let Some(tilde) = wanted.strip_prefix('~') {
        tilde.split('.').take(2).collect::<Vec<_>>().join(".")
    } else {
        wanted.trim_end_matches(".x").to_string()
    };
    versions
        .keys()
        .filter(|v| v.starts_with(&format!("{prefix}.")))
        .filter_map(|v| version_key(v).map(|key| (key, v)))
        .max()
        .map(|(_, v)| v.clone())
}

fn extract_from_tarball(tarball: &[u8], candidates: &[String]) -> Option<Vec<u8>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tarball));
    for entry in archive.entries().ok()? {
        let mut entry = entry.ok()?;
        let path = entry.path().ok()?.to_string_lossy().into_owned();
        // npm tarballs hold everything under one top folder, usually `package/`.
        let inner = path.split_once('/').map(|(_, p)| p).unwrap_or(&path);
        if candidates.iter().any(|c| c == inner) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).ok()?;
            return Some(bytes);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_npm_cdn_urls() {
        assert_eq!(
            npm_source("https://cdn.jsdelivr.net/npm/gsap@3.14.2/dist/gsap.min.js"),
            Some(NpmSource {
                package: "gsap".into(),
                version: "3.14.2".into(),
                path: "dist/gsap.min.js".into(),
                cdnjs: false
            })
        );
        assert_eq!(
            npm_source("https://unpkg.com/@lottiefiles/lottie-player@2/dist/x.js").unwrap(),
            NpmSource {
                package: "@lottiefiles/lottie-player".into(),
                version: "2".into(),
                path: "dist/x.js".into(),
                cdnjs: false
            }
        );
        assert_eq!(
            npm_source("https://cdnjs.cloudflare.com/ajax/libs/gsap/3.12.5/gsap.min.js").unwrap(),
            NpmSource {
                package: "gsap".into(),
                version: "3.12.5".into(),
                path: "gsap.min.js".into(),
                cdnjs: true
            }
        );
        assert_eq!(
            npm_source("https://cdn.jsdelivr.net/npm/gsap")
                .unwrap()
                .version,
            ""
        );
        assert_eq!(
            npm_source("https://fonts.googleapis.com/css2?family=Inter"),
            None
        );
    }

    #[test]
    fn resolves_versions_like_a_cdn() {
        let packument = serde_json::json!({
            "dist-tags": {"latest": "3.14.2"},
            "versions": {"3.9.1": {}, "3.12.7": {}, "3.14.2": {}, "3.15.0-beta.1": {}, "2.1.3": {}}
        });
        assert_eq!(
            resolve_version(&packument, "3.12.7").as_deref(),
            Some("3.12.7")
        );
        assert_eq!(resolve_version(&packument, "3").as_deref(), Some("3.14.2"));
        assert_eq!(
            resolve_version(&packument, "3.12").as_deref(),
            Some("3.12.7")
        );
        assert_eq!(
            resolve_version(&packument, "^3.9").as_deref(),
            Some("3.14.2")
        );
        assert_eq!(resolve_version(&packument, "").as_deref(), Some("3.14.2"));
        assert_eq!(resolve_version(&packument, "4"), None);
    }

    #[test]
    fn cache_round_trips_and_detects_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let cache = AssetCache::at(dir.path());
        let url = "https://cdn.example/a.js";
        assert_eq!(cache.get(url), None);
        cache.put(url, b"console.log(1)").unwrap();
        assert_eq!(cache.get(url).as_deref(), Some(&b"console.log(1)"[..]));
        assert_eq!(cache.fetch(url).unwrap(), b"console.log(1)");
        let blob = dir.path().join("blobs").join(sha256_hex(b"console.log(1)"));
        std::fs::write(blob, b"tampered").unwrap();
        assert_eq!(cache.get(url), None);
    }

    /// A server on 127.0.0.1 answering each request with the next of `replies`
    /// (`"redirect:/path"` or a body); the URL of its root.
    fn local_server(replies: Vec<&'static str>) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for (stream, reply) in listener.incoming().zip(replies) {
                let mut stream = stream.unwrap();
                let mut request = [0u8; 1024];
                let _ = stream.read(&mut request);
                let response = match reply.strip_prefix("redirect:") {
                    Some(to) => format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
                    None => format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}", reply.len()),
                };
                let _ = stream.write_all(response.as_bytes());
            }
        });
        format!("http://{address}/")
    }

    #[test]
    fn private_addresses_are_refused_unless_allowed_and_redirects_are_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let url = local_server(vec!["redirect:/lib.js", "hello"]);
        let refused = AssetCache::at(dir.path())
            .fetch(&format!("{url}start"))
            .unwrap_err();
        assert_eq!(
            refused,
            "127.0.0.1 is a private address (127.0.0.1), which a composition may not reach; pass --allow-private-network to fetch it"
        );
        let allowed = AssetCache::at(dir.path()).allow_private_network(true);
        assert_eq!(allowed.fetch(&format!("{url}start")).unwrap(), b"hello");
        let looping = local_server(vec!["redirect:/a"; 7]);
        assert_eq!(
            allowed.fetch(&format!("{looping}a")).unwrap_err(),
            "more than 5 redirects"
        );
        for (ip, public) in [
            ("169.254.169.254", false),
            ("10.1.2.3", false),
            ("100.64.0.1", false),
            ("192.168.1.1", false),
            ("::1", false),
            ("fd00::1", false),
            ("::ffff:127.0.0.1", false),
            ("151.101.1.229", true),
            ("2606:4700::1", true),
        ] {
            assert_eq!(is_public(&ip.parse().unwrap()), public, "{ip}");
        }
    }
}
