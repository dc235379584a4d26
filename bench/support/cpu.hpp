// Where the machine's CPU went during a bench's measured window: this process (all threads, and
// its context switches), the servers it drives (from /proc/PID/stat) and everything else (from
// /proc/stat). Shared by the benches that compare ssprd with a raw libldap loop.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::bench {

/// `value` with `decimals` digits after the point.
std::string fixed(double value, int decimals);

/// Busy (not idle, not iowait) CPU seconds of the whole machine since boot.
std::optional<double> machine_cpu();

/// CPU seconds (user + system) used so far by process `pid`; nullopt when it is not readable.
std::optional<double> process_cpu(long pid);

/// A "Name:  N kB" field of /proc/PID/status in KiB ("VmRSS", "RssAnon", "RssFile"); nullopt when
/// not readable.
std::optional<std::uint64_t> process_status_kib(long pid, std::string_view field);

struct cpu_sample {
    double client = 0.0;
    long client_switches = 0; // context switches of all our threads, voluntary or not
    std::vector<std::optional<double>> servers; // in the order the meter was given the PIDs
    std::optional<double> machine;
};

/// A named server process whose CPU time the bench reports ("slapd", "ssprd").
struct server_process {
    std::string name;
    long pid = 0; // 0: unknown, left out of the figures
};

class cpu_meter {
public:
    /// Servers whose PID is unknown (0) are left out.
    explicit cpu_meter(std::vector<server_process> servers);

    [[nodiscard]] cpu_sample sample() const;
    [[nodiscard]] const std::vector<server_process>& servers() const { return servers_; }

private:
    std::vector<server_process> servers_;
};

/// CPU cores used on average over `seconds` by everything but this process and the servers
/// (nullopt when a server's or the machine's time is unknown).
std::optional<double> other_cores(const cpu_sample& start, const cpu_sample& end, double seconds);

/// CPU seconds used between the two samples by the processes named ("" is this process, else a
/// server's name), summed; nullopt when one of them is unknown.
std::optional<double> cpu_seconds(const cpu_meter& meter, const cpu_sample& start,
                                  const cpu_sample& end, const std::vector<std::string>& names);

/// "client_cpu_us/UNIT=… client_csw/UNIT=… NAME_cpu_us/UNIT=… … other_cores=…" over `count`
/// units (resets, flows) done between the two samples, `seconds` apart.
std::string cpu_report(const cpu_meter& meter, const cpu_sample& start, const cpu_sample& end,
                       std::uint64_t count, std::string_view unit, double seconds);

} // namespace sspr::bench
