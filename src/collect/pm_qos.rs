//! The CPU latency PM QoS limit, `/dev/cpu_dma_latency`. Reading the device returns the
//! current aggregate request (the smallest latency any holder asked for) as a native-endian
//! s32 of microseconds; tuned's latency profiles hold a request there that keeps deep
//! C-states off. Opening it registers a request at the "no constraint" default, which does not
//! change the aggregate, and closing withdraws it: the file is read once and closed at once.
//! In a `--root` tree or sosreport it is a plain file holding those 4 bytes.
//!
//! Recorded as decimal text under [`CPU_DMA_LATENCY`] with the other host files.

use super::fsroot::FsRoot;
use super::paths::CPU_DMA_LATENCY;
use crate::snapshot::{Fact, ReadError, ReadErrorKind};
use std::io::Read;

/// The limit in µs, as decimal text.
pub fn read_cpu_dma_latency(fs: &FsRoot) -> Fact<String> {
    let bytes = if fs.is_live() {
        read_live_device()
    } else {
        // Under a root the collector's checked reader applies (regular file, inside the root).
        fs.read_bytes(CPU_DMA_LATENCY, 64)
    };
    match bytes {
        Fact::Value(b) => decode(&b),
        Fact::Error(e) => Fact::Error(e),
    }
}

/// The live character device (root-only): opened, read once, closed.
fn read_live_device() -> Fact<Vec<u8>> {
    let mut f = match std::fs::File::open(CPU_DMA_LATENCY) {
        Ok(f) => f,
        Err(e) => return Fact::Error(ReadError::from_io(&e)),
    };
    let mut buf = [0u8; 8];
    match f.read(&mut buf) {
        Ok(n) => Fact::Value(buf[..n].to_vec()),
        Err(e) => Fact::Error(ReadError::from_io(&e)),
    }
}

/// Exactly four bytes, a native-endian s32.
fn decode(b: &[u8]) -> Fact<String> {
    match <[u8; 4]>::try_from(b) {
        Ok(raw) => Fact::Value(i32::from_ne_bytes(raw).to_string()),
        Err(_) => Fact::err(
            ReadErrorKind::ParseError,
            format!("expected a 4-byte s32, found {} bytes", b.len()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_request() {
        assert_eq!(decode(&3i32.to_ne_bytes()).value().unwrap(), "3");
        assert_eq!(
            decode(&2_000_000_000i32.to_ne_bytes()).value().unwrap(),
            "2000000000"
        );
        assert!(decode(b"17\n").error().is_some());
        assert!(decode(b"").error().is_some());
    }

    #[test]
    fn reads_a_tree_file_and_reports_absence() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::create_dir(tmp.path().join("dev")).unwrap();
        let fs = FsRoot::under(tmp.path());
        assert_eq!(
            read_cpu_dma_latency(&fs).error().map(|e| e.kind),
            Some(ReadErrorKind::Absent)
        );
        std::fs::write(tmp.path().join("dev/cpu_dma_latency"), 1i32.to_ne_bytes()).unwrap();
        assert_eq!(read_cpu_dma_latency(&fs).value().unwrap(), "1");
    }
}
