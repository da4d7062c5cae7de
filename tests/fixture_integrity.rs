//! The committed fixture ELFs are the ones `fixtures/build` produced: their SHA-256 sums
//! match `fixtures/SHA256SUMS` (which the build writes), and every ELF is listed.

mod common;
use common::*;
use sha2::{Digest, Sha256};

#[test]
fn committed_elfs_match_sha256sums() {
    let sums = std::fs::read_to_string(fixture("SHA256SUMS")).unwrap();
    let mut listed = Vec::new();
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let (sum, path) = line.split_once("  ").expect("sha256sum format");
        let bytes = std::fs::read(fixture(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(format!("{:x}", Sha256::digest(&bytes)), sum, "{path} differs from the build's SHA256SUMS");
        listed.push(path.to_string());
    }
    let on_disk: Vec<String> = std::fs::read_dir(fixture("micro"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".elf"))
        .map(|n| format!("micro/{n}"))
        .collect();
    for elf in on_disk {
        assert!(listed.contains(&elf), "{elf} is not in SHA256SUMS: rebuild with fixtures/build");
    }
}
