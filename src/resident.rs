//! Handing back the pages the daemon's start and its renewals used and serving does not.
//!
//! A daemon's start and its renewals touch far more of its executable than serving a
//! cached session does (the settings, the runtime, the SDK and TLS, the secret store),
//! and every page touched stays resident for as long as the daemon runs. Once the daemon
//! settles, it drops its file mappings (the executable's and the shared libraries') that
//! cannot hold a page of its own (read-only, no private copy: smaps' `Anonymous: 0 kB`)
//! with `MADV_DONTNEED`: the kernel unmaps those pages and keeps them in the page cache,
//! and serving maps back, with minor faults and no disk read, only the ones it uses. The
//! heap's free pages go back too (glibc's `malloc_trim`), and all threads share one heap
//! arena, so that freed memory is not stranded in one arena per thread.
//!
//! Relocated data (RELRO, whose pages are private copies) and everything writable keep
//! their pages: only what the next access reads unchanged from the file is dropped.

/// One mapping of /proc/self/smaps, as far as choosing it needs.
#[derive(Debug, PartialEq, Eq)]
struct Mapping<'a> {
    start: usize,
    end: usize,
    writable: bool,
    path: &'a str,
    anonymous_kb: u64,
    rss_kb: u64,
}

/// Have every thread allocate from one malloc arena. Call before any thread starts. The
/// daemon's threads rarely allocate at the same time, and glibc's arena per thread kept
/// megabytes of freed memory that `malloc_trim` could not give back (BENCHMARKS.md).
pub fn one_heap_arena() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets a parameter of the allocator.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// Drop the resident pages of the read-only file mappings and the heap's free pages;
/// returns the KiB that were resident in the mappings.
pub fn hand_back() -> std::io::Result<u64> {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only returns free memory of the allocator to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
    release_code_pages()
}

fn release_code_pages() -> std::io::Result<u64> {
    let smaps = std::fs::read_to_string("/proc/self/smaps")?;
    let mut released = 0;
    for mapping in droppable(&smaps) {
        // SAFETY: the range is a whole read-only mapping of a file that holds no private
        // page: dropping its pages only makes the next access read the file again.
        let rc = unsafe {
            libc::madvise(
                mapping.start as *mut libc::c_void,
                mapping.end - mapping.start,
                libc::MADV_DONTNEED,
            )
        };
        if rc == 0 {
            released += mapping.rss_kb;
        }
    }
    Ok(released)
}

/// The file mappings (the executable's, the shared libraries') whose pages can be dropped
/// and read again unchanged.
fn droppable(smaps: &str) -> Vec<Mapping<'_>> {
    mappings(smaps)
        .into_iter()
        .filter(|m| m.path.starts_with('/') && !m.writable && m.anonymous_kb == 0)
        .collect()
}

fn mappings(smaps: &str) -> Vec<Mapping<'_>> {
    let mut found: Vec<Mapping> = Vec::new();
    for line in smaps.lines() {
        if let Some(mapping) = header(line) {
            found.push(mapping);
        } else if let (Some(current), Some((field, value))) = (found.last_mut(), field(line)) {
            match field {
                "Anonymous" => current.anonymous_kb = value,
                "Rss" => current.rss_kb = value,
                _ => {}
            }
        }
    }
    found
}

/// `start-end perms offset dev inode path` (the path may hold spaces, or be absent).
fn header(line: &str) -> Option<Mapping<'_>> {
    let mut parts = line.splitn(6, ' ');
    let (start, end) = parts.next()?.split_once('-')?;
    let perms = parts.next()?;
    let (_offset, _device, _inode) = (parts.next()?, parts.next()?, parts.next()?);
    Some(Mapping {
        start: usize::from_str_radix(start, 16).ok()?,
        end: usize::from_str_radix(end, 16).ok()?,
        writable: perms.as_bytes().get(1) != Some(&b'-'),
        path: parts.next().unwrap_or("").trim_start(),
        anonymous_kb: 0,
        rss_kb: 0,
    })
}

/// `Name:   123 kB`.
fn field(line: &str) -> Option<(&str, u64)> {
    let (name, value) = line.split_once(':')?;
    let value = value.trim().strip_suffix(" kB")?.trim().parse().ok()?;
    Some((name, value))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
5600000000-5600001000 r--p 00000000 fe:00 42                         /usr/bin/mfad-core
Rss:                   4 kB
Anonymous:             0 kB
VmFlags: rd mr mw me
5600001000-5600003000 r-xp 00001000 fe:00 42                         /usr/bin/mfad-core
Rss:                   8 kB
Anonymous:             0 kB
5600003000-5600004000 r--p 00003000 fe:00 42                         /usr/bin/mfad-core
Rss:                   4 kB
Anonymous:             4 kB
5600004000-5600005000 rw-p 00004000 fe:00 42                         /usr/bin/mfad-core
Rss:                   4 kB
Anonymous:             0 kB
7f00000000-7f00001000 r-xp 00000000 fe:00 7                          /usr/lib/x86_64-linux-gnu/libc.so.6
Rss:                   4 kB
Anonymous:             0 kB
7f00002000-7f00003000 rw-p 00000000 00:00 0 
Rss:                   4 kB
Anonymous:             4 kB
7fff00000000-7fff00002000 r-xp 00000000 00:00 0                      [vdso]
Rss:                   4 kB
Anonymous:             0 kB
";

    #[test]
    fn only_read_only_file_mappings_without_private_pages_are_dropped() {
        let chosen: Vec<(usize, u64)> = droppable(SMAPS)
            .iter()
            .map(|m| (m.start, m.rss_kb))
            .collect();
        // Not the relocated data (private pages), the writable data, the heap or the vDSO.
        assert_eq!(
            chosen,
            [(0x5600000000, 4), (0x5600001000, 8), (0x7f00000000, 4)]
        );
    }

    fn resident_file_kib() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("RssFile:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn this_process_gives_back_its_code_pages_and_runs_on() {
        let before = resident_file_kib();
        let released = hand_back().unwrap();
        let after = resident_file_kib();
        assert!(released > 0, "a test binary has resident code pages");
        assert!(after < before, "RssFile {before} KiB, then {after} KiB");
        // Running on after the drop: the code faults back in from the file.
        assert_eq!(mappings(SMAPS).len(), 7);
    }
}
