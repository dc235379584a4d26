#include "bench/support/cpu.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <sstream>

namespace sspr::bench {

std::string fixed(double value, int decimals) {
    std::ostringstream out;
    out << std::fixed << std::setprecision(decimals) << value;
    return out.str();
}

std::optional<double> machine_cpu() {
    std::ifstream in("/proc/stat");
    std::string label;
    unsigned long long user = 0;
    unsigned long long nice = 0;
    unsigned long long system = 0;
    unsigned long long idle = 0;
    unsigned long long iowait = 0;
    unsigned long long irq = 0;
    unsigned long long softirq = 0;
    unsigned long long steal = 0;
    if (!(in >> label >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) ||
        label != "cpu") {
        return std::nullopt;
    }
    return static_cast<double>(user + nice + system + irq + softirq + steal) /
           static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::optional<double> process_cpu(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    if (pid <= 0 || !std::getline(in, stat)) {
        return std::nullopt;
    }
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));
    std::string skip;
    for (int field = 3; field < 14; ++field) {
        fields >> skip;
    }
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    if (!(fields >> utime >> stime)) {
        return std::nullopt;
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::optional<std::uint64_t> process_status_kib(long pid, std::string_view field) {
    if (pid <= 0) {
        return std::nullopt;
    }
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    const std::string prefix = std::string(field) + ":";
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(prefix, 0) == 0) {
            std::istringstream value(line.substr(prefix.size()));
            std::uint64_t kib = 0;
            if (value >> kib) {
                return kib;
            }
            return std::nullopt;
        }
    }
    return std::nullopt;
}

cpu_meter::cpu_meter(std::vector<server_process> servers) {
    for (auto& p : servers) {
        if (p.pid > 0) {
            servers_.push_back(std::move(p));
        }
    }
}

cpu_sample cpu_meter::sample() const {
    rusage self{};
    ::getrusage(RUSAGE_SELF, &self);
    auto seconds = [](const timeval& tv) {
        return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6;
    };
    cpu_sample s;
    s.client = seconds(self.ru_utime) + seconds(self.ru_stime);
    s.client_switches = self.ru_nvcsw + self.ru_nivcsw;
    for (const auto& p : servers_) {
        s.servers.push_back(process_cpu(p.pid));
    }
    s.machine = machine_cpu();
    return s;
}

std::optional<double> other_cores(const cpu_sample& start, const cpu_sample& end, double seconds) {
    if (!start.machine || !end.machine || start.servers.size() != end.servers.size() ||
        seconds <= 0.0) {
        return std::nullopt;
    }
    double others = (*end.machine - *start.machine) - (end.client - start.client);
    for (std::size_t i = 0; i < start.servers.size(); ++i) {
        if (!start.servers[i] || !end.servers[i]) {
            return std::nullopt;
        }
        others -= *end.servers[i] - *start.servers[i];
    }
    return std::max(0.0, others) / seconds;
}

std::optional<double> cpu_seconds(const cpu_meter& meter, const cpu_sample& start,
                                  const cpu_sample& end, const std::vector<std::string>& names) {
    double total = 0.0;
    for (const auto& name : names) {
        if (name.empty()) {
            total += end.client - start.client;
            continue;
        }
        bool found = false;
        for (std::size_t i = 0; i < meter.servers().size(); ++i) {
            if (meter.servers()[i].name == name && i < start.servers.size() &&
                i < end.servers.size() && start.servers[i] && end.servers[i]) {
                total += *end.servers[i] - *start.servers[i];
                found = true;
            }
        }
        if (!found) {
            return std::nullopt;
        }
    }
    return total;
}

std::string cpu_report(const cpu_meter& meter, const cpu_sample& start, const cpu_sample& end,
                       std::uint64_t count, std::string_view unit, double seconds) {
    if (count == 0) {
        return "none completed";
    }
    const auto n = static_cast<double>(count);
    const std::string per = "/" + std::string(unit);
    auto us = [n](double s) { return std::to_string(std::lround(s * 1e6 / n)); };
    std::string out =
        "client_cpu_us" + per + "=" + us(end.client - start.client) + " client_csw" + per + "=" +
        fixed(static_cast<double>(end.client_switches - start.client_switches) / n, 1);
    for (std::size_t i = 0;
         i < meter.servers().size() && i < start.servers.size() && i < end.servers.size(); ++i) {
        if (start.servers[i] && end.servers[i]) {
            out += " " + meter.servers()[i].name + "_cpu_us" + per + "=" +
                   us(*end.servers[i] - *start.servers[i]);
        }
    }
    if (const auto others = other_cores(start, end, seconds)) {
        out += " other_cores=" + fixed(*others, 2);
    }
    return out;
}

} // namespace sspr::bench
