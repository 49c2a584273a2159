//! The standard `process_*` metrics, read from `/proc/self` at each scrape (prometheus-client
//! has no process collector): CPU time, resident and virtual memory, open and maximum file
//! descriptors, start time. A value that cannot be read is left out, so off Linux the series
//! are simply absent.

use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;

/// Clock ticks per second of the times in `/proc/<pid>/stat`: USER_HZ, which Linux fixes at 100
/// for user space on the architectures HIPAA Guard ships (asking `sysconf` would need libc and
/// `unsafe`, which the workspace forbids).
const TICKS_PER_SECOND: f64 = 100.0;

/// What one scrape reads about the process.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessSample {
    /// User plus system CPU time.
    pub cpu_seconds: Option<f64>,
    pub resident_memory_bytes: Option<u64>,
    pub virtual_memory_bytes: Option<u64>,
    pub open_fds: Option<u64>,
    /// The soft limit on open files; `None` when unlimited.
    pub max_fds: Option<u64>,
}

impl ProcessSample {
    /// Reads `/proc/self/{stat,status,limits,fd}`.
    pub fn read() -> Self {
        let read = |file: &str| std::fs::read_to_string(format!("/proc/self/{file}")).ok();
        let stat = read("stat");
        let status = read("status");
        ProcessSample {
            cpu_seconds: stat.as_deref().and_then(cpu_seconds),
            resident_memory_bytes: status.as_deref().and_then(|s| status_bytes(s, "VmRSS:")),
            virtual_memory_bytes: status.as_deref().and_then(|s| status_bytes(s, "VmSize:")),
            open_fds: std::fs::read_dir("/proc/self/fd")
                // The listing's own handle on the directory is one of the entries.
                .ok()
                .and_then(|entries| u64::try_from(entries.count().saturating_sub(1)).ok()),
            max_fds: read("limits").as_deref().and_then(max_open_files),
        }
    }
}

/// The fields of `/proc/<pid>/stat` after the command name, which may hold spaces and
/// parentheses: the first is field 3 (`state`) of proc(5).
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    let (_, after_name) = stat.rsplit_once(')')?;
    Some(after_name.split_whitespace().collect())
}

/// proc(5) field `n` (1-based) of a stat line.
fn stat_field(stat: &str, n: usize) -> Option<f64> {
    stat_fields(stat)?.get(n.checked_sub(3)?)?.parse().ok()
}

/// `utime` (field 14) plus `stime` (field 15), in seconds.
fn cpu_seconds(stat: &str) -> Option<f64> {
    Some((stat_field(stat, 14)? + stat_field(stat, 15)?) / TICKS_PER_SECOND)
}

/// A `Name:   1234 kB` line of `/proc/<pid>/status`, in bytes.
fn status_bytes(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with(name))?;
    let mut words = line.get(name.len()..)?.split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => value.checked_mul(1024),
        None => Some(value),
        Some(_) => None,
    }
}

/// The soft limit of the `Max open files` line of `/proc/<pid>/limits`.
fn max_open_files(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.get("Max open files".len()..)?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// When the process started, in seconds since the Unix epoch: the boot time (`btime` of
/// `/proc/stat`) plus the process's `starttime` (field 22, in ticks since boot).
fn start_time_seconds(proc_stat: &str, self_stat: &str) -> Option<f64> {
    let boot: f64 = proc_stat
        .lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    Some(boot + stat_field(self_stat, 22)? / TICKS_PER_SECOND)
}

/// Encodes a [`ProcessSample`] at each scrape.
#[derive(Debug)]
pub struct ProcessCollector {
    /// Read once: it never changes.
    start_time_seconds: f64,
}

impl Default for ProcessCollector {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcessCollector {
    pub fn new() -> Self {
        let from_proc = std::fs::read_to_string("/proc/stat")
            .ok()
            .zip(std::fs::read_to_string("/proc/self/stat").ok())
            .and_then(|(proc_stat, self_stat)| start_time_seconds(&proc_stat, &self_stat));
        // Without /proc, the collector is made as the process starts: close enough.
        let start_time_seconds = from_proc.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |since| since.as_secs_f64())
        });
        ProcessCollector { start_time_seconds }
    }
}

/// Encodes one metric under `name` (the unit is appended to it).
fn encode_one(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    metric: &impl EncodeMetric,
) -> Result<(), std::fmt::Error> {
    let metric_encoder = encoder.encode_descriptor(name, help, unit, metric.metric_type())?;
    metric.encode(metric_encoder)
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let sample = ProcessSample::read();
        let encoder = &mut encoder;
        if let Some(seconds) = sample.cpu_seconds {
            let help = "Total user and system CPU time spent in seconds";
            encode_one(
                encoder,
                "process_cpu",
                help,
                Some(&Unit::Seconds),
                &ConstCounter::new(seconds),
            )?;
        }
        let bytes = [
            (
                "process_resident_memory",
                "Resident memory size in bytes",
                sample.resident_memory_bytes,
            ),
            (
                "process_virtual_memory",
                "Virtual memory size in bytes",
                sample.virtual_memory_bytes,
            ),
        ];
        for (name, help, value) in bytes {
            if let Some(value) = value {
                encode_one(
                    encoder,
                    name,
                    help,
                    Some(&Unit::Bytes),
                    &ConstGauge::new(value),
                )?;
            }
        }
        let counts = [
            (
                "process_open_fds",
                "Number of open file descriptors",
                sample.open_fds,
            ),
            (
                "process_max_fds",
                "Maximum number of open file descriptors",
                sample.max_fds,
            ),
        ];
        for (name, help, value) in counts {
            if let Some(value) = value {
                encode_one(encoder, name, help, None, &ConstGauge::new(value))?;
            }
        }
        let start = ConstGauge::new(self.start_time_seconds);
        let help = "Start time of the process since unix epoch in seconds";
        encode_one(
            encoder,
            "process_start_time",
            help,
            Some(&Unit::Seconds),
            &start,
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
    use super::*;

    // A real stat line, with a command name holding a space and a parenthesis.
    const STAT: &str = "4242 (hipaa (op) x) S 1 4242 4242 0 -1 4194560 1234 0 0 0 250 75 0 0 20 0 9 0 123400 81920000 5000 18446744073709551615 1 1 0 0 0 0 0 4096 17638 0 0 0 17 1 0 0 0 0 0\n";

    #[test]
    fn cpu_and_start_time_come_from_stat_after_the_command_name() {
        assert_eq!(cpu_seconds(STAT), Some(3.25));
        let proc_stat = "cpu  1 2 3\nbtime 1764900000\nprocesses 10\n";
        assert_eq!(
            start_time_seconds(proc_stat, STAT),
            Some(1_764_900_000.0 + 1234.0)
        );
        assert_eq!(cpu_seconds("garbage"), None);
        assert_eq!(start_time_seconds("cpu 1\n", STAT), None);
    }

    #[test]
    fn memory_comes_from_status_in_bytes() {
        let status =
            "Name:\thipaa-operator\nVmSize:\t  123456 kB\nVmRSS:\t    2048 kB\nThreads:\t9\n";
        assert_eq!(status_bytes(status, "VmRSS:"), Some(2048 * 1024));
        assert_eq!(status_bytes(status, "VmSize:"), Some(123_456 * 1024));
        assert_eq!(status_bytes(status, "VmSwap:"), None);
    }

    #[test]
    fn the_file_limit_is_the_soft_one_and_unlimited_is_none() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max processes             63704                63704                processes \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(max_open_files(limits), Some(1024));
        let unlimited =
            "Max open files            unlimited            unlimited            files     \n";
        assert_eq!(max_open_files(unlimited), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_reads_back_plausible_values() {
        let sample = ProcessSample::read();
        assert!(sample.cpu_seconds.unwrap() >= 0.0);
        assert!(sample.resident_memory_bytes.unwrap() > 1024 * 1024);
        assert!(sample.virtual_memory_bytes.unwrap() >= sample.resident_memory_bytes.unwrap());
        assert!(sample.open_fds.unwrap() >= 1);
        let started = ProcessCollector::new().start_time_seconds;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        // Started in the last hour; `btime` is whole seconds and may lag the wall clock a little.
        assert!(
            started <= now + 60.0 && started > now - 3600.0,
            "{started} vs {now}"
        );
    }
}
