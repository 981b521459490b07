// A run's report with a bit of everything, for the report tests and for
// report_sample (which the headless-browser test renders): a failing known
// issue with faults and a trace long enough to be elided, a clean pass, an
// error full of hostile text, a skip, and a fixed known issue.
#pragma once

#include <string>
#include <vector>

#include "engine/report.hpp"
#include "proto/qrtr_packet.hpp"
#include "sim/trace.hpp"

namespace rmtfs_hil::testing {

using sim::TraceKind;
using sim::TraceSource;

inline engine::TraceEntry event(double at, TraceSource source, TraceKind kind, std::string detail,
                                sim::TraceFields fields = {}) {
    return {at, source, kind, std::move(detail), std::move(fields)};
}

// The modem is node 0 (port 77), the daemon node 1 (port 14).
inline constexpr std::uint32_t modem_node = 0, modem_port = 77, daemon_node = 1, daemon_port = 14;
inline constexpr std::uint32_t ctrl = qrtr::port_control, bcast = qrtr::node_broadcast;

// A packet event's fields; `message` names the RMTFS message of a DATA packet.
inline sim::TraceFields packet(std::string type, std::uint32_t from_node, std::uint32_t from_port, std::uint32_t to_node,
                               std::uint32_t to_port, std::uint32_t bytes, std::string link = "",
                               std::string message = "", std::string qmi = "request") {
    sim::TracePacket p;
    p.type = std::move(type);
    p.from_node = from_node, p.from_port = from_port, p.to_node = to_node, p.to_port = to_port;
    p.bytes = bytes;
    p.link = std::move(link);
    if (!message.empty()) p.qmi = std::move(qmi), p.message = std::move(message);
    sim::TraceFields fields;
    fields.packet = std::move(p);
    return fields;
}

inline sim::TraceFields killed_by(int signal) {
    sim::TraceFields fields;
    fields.exit.emplace().signal = signal;
    return fields;
}

inline sim::TraceFields io_fault_at(std::size_t id, std::string file, std::uint64_t sector) {
    sim::TraceFields fields;
    fields.io_fault = id;
    fields.file = std::move(file);
    fields.sector = sector;
    return fields;
}

// Text no report may pass through unescaped.
inline const std::string hostile_name = "hostile-</script><b>bold</b>";
inline const std::string hostile_text =
    "</script><b>x</b> & \"quoted\" 'single' ]]> <!-- c --> \x1b[31mred\x1b[0m \x01\x02\x7f bad utf8: \xff\xfe end";

inline engine::ScenarioResult sigkill_scenario() {
    engine::ScenarioResult s;
    s.name = "sigkill-during-write";
    s.description = "The daemon is killed between acknowledging a write and syncing it; after the restart the "
                    "modem must read back what it wrote.";
    s.file = "scenarios/process/sigkill-during-write.json";
    s.tags = {"process", "faults"};
    s.verdict = engine::Verdict::fail;
    s.reason = "ledger: acknowledged write to modem_fs1 sectors 8..11 not on storage after SIGKILL";
    s.known_issue = "rmtfs acknowledges RW_IOVEC writes before fsync: a SIGKILL loses them";
    s.known_status = engine::KnownStatus::known;
    s.duration_ms = 3412.5;
    s.seed = 18446744073709551557ull;  // near 2^64: JSON must keep it exact
    s.reproduce = "rmtfs-hil run --server /usr/bin/rmtfs --seed 18446744073709551557 "
                  "scenarios/process/sigkill-during-write.json";
    s.coupling = "rmtfs-sysfs";
    s.faults = {"sigkill"};
    s.modem_up_at_end = true;
    s.data_lost = true;
    s.recovery_ms = 1234.5;
    s.ledger_verdict = "2 violations";
    s.ledger_violations = {"write #3 to modem_fs1 sectors 8..11 acknowledged, storage holds the old data",
                           "read #5 of modem_fs1 sector 9 returned data never written"};
    s.steps = {
        {0, "boot", "", engine::StepStatus::passed, "", 0, 412.25, "scenarios/process/sigkill-during-write.json:12:5"},
        {1, "write", "the write that is lost", engine::StepStatus::passed, "", 412.25, 430.0,
         "scenarios/process/sigkill-during-write.json:13:5"},
        {2, "fault", "SIGKILL at the next RW_IOVEC", engine::StepStatus::passed, "", 430.0, 431.0,
         "scenarios/process/sigkill-during-write.json:16:5"},
        {3, "wait_for", "", engine::StepStatus::passed, "", 431.0, 1700.0, "scenarios/process/sigkill-during-write.json:18:5"},
        {4, "read", "read it back", engine::StepStatus::failed, "sector 9: expected pattern 'a', got the initial pattern", 1700.0,
         1712.0, "scenarios/process/sigkill-during-write.json:19:5"},
        {5, "expect", "", engine::StepStatus::skipped, "", 0, 0, "scenarios/process/sigkill-during-write.json:22:5"},
    };
    auto add = [&s](double at, TraceSource source, TraceKind kind, std::string detail, sim::TraceFields fields = {}) {
        s.trace.push_back(event(at, source, kind, std::move(detail), std::move(fields)));
    };
    double t = 0;
    add(t, TraceSource::server, TraceKind::started, "pid 4242 (start 1)");
    add(t += 0.4, TraceSource::server, TraceKind::log, "rmtfs: starting, storage in /tmp/rmtfs-hil/storage");
    add(t += 0.1, TraceSource::fabric, TraceKind::deliver, "NEW_SERVER 1:14 -> 1:ctrl 20 bytes",
        packet("NEW_SERVER", daemon_node, daemon_port, daemon_node, ctrl, 20));
    add(t += 0.1, TraceSource::ns, TraceKind::new_server, "service 14 version 1 instance 0 at 1:14");
    add(t += 0.1, TraceSource::fabric, TraceKind::link_tx, "modem0 NEW_SERVER 1:ctrl -> bcast:ctrl 20 bytes",
        packet("NEW_SERVER", daemon_node, ctrl, bcast, ctrl, 20, "modem0"));
    add(t += 0.2, TraceSource::remoteproc, TraceKind::state, "remoteproc0: offline -> running");
    add(t += 0.1, TraceSource::modem, TraceKind::state, "modem: booting");
    add(t += 0.3, TraceSource::modem, TraceKind::server_up, "service 14 at 1:14");
    int request = 0;
    auto exchange = [&](const std::string& what, const std::string& message, int bytes_in, int bytes_out) {
        const auto in = static_cast<std::uint32_t>(bytes_in), out = static_cast<std::uint32_t>(bytes_out);
        add(t += 0.5, TraceSource::fabric, TraceKind::link_rx, "modem0 DATA 0:77 -> 1:14 " + std::to_string(in) + " bytes",
            packet("DATA", modem_node, modem_port, daemon_node, daemon_port, in, "modem0", message));
        add(t += 0.05, TraceSource::fabric, TraceKind::deliver, "DATA 0:77 -> 1:14 " + std::to_string(in) + " bytes",
            packet("DATA", modem_node, modem_port, daemon_node, daemon_port, in, "", message));
        add(t += 0.2, TraceSource::server, TraceKind::log, "rmtfs: " + what + " (request " + std::to_string(++request) + ")");
        add(t += 0.1, TraceSource::fabric, TraceKind::link_tx, "modem0 DATA 1:14 -> 0:77 " + std::to_string(out) + " bytes",
            packet("DATA", daemon_node, daemon_port, modem_node, modem_port, out, "modem0", message, "response"));
    };
    // The fault comes early: the browser test looks for it in the first screenful.
    exchange("open /boot/modem_fs1 => caller id 1", "OPEN", 38, 25);
    add(t += 1, TraceSource::modem, TraceKind::booted, "modem");
    exchange("write 4 sectors of modem_fs1 at 8", "RW_IOVEC", 40, 18);
    add(t += 0.5, TraceSource::harness, TraceKind::fault_armed, "SIGKILL at RW_IOVEC #2");
    add(t += 0.5, TraceSource::fabric, TraceKind::link_rx, "modem0 DATA 0:77 -> 1:14 40 bytes",
        packet("DATA", modem_node, modem_port, daemon_node, daemon_port, 40, "modem0", "RW_IOVEC"));
    add(t += 0.05, TraceSource::fabric, TraceKind::deliver, "DATA 0:77 -> 1:14 40 bytes",
        packet("DATA", modem_node, modem_port, daemon_node, daemon_port, 40, "", "RW_IOVEC"));
    add(t += 0.01, TraceSource::harness, TraceKind::fault, "SIGKILL to the daemon at RW_IOVEC #2");
    add(t += 0.3, TraceSource::server, TraceKind::ended, "killed by SIGKILL", killed_by(9));
    add(t += 0.2, TraceSource::ns, TraceKind::del_server, "service 14 version 1 instance 0 at 1:14");
    add(t += 0.1, TraceSource::modem, TraceKind::service_lost, "modem");
    add(t += 0.1, TraceSource::fabric, TraceKind::drop, "1:14 -> 0:77: no socket (ENOTCONN)",
        packet("DATA", daemon_node, daemon_port, modem_node, modem_port, 25, "", "RW_IOVEC", "response"));
    add(t += 1000, TraceSource::harness, TraceKind::restart, "starting the daemon again");
    add(t += 2, TraceSource::server, TraceKind::started, "pid 4250 (start 2)");
    add(t += 0.5, TraceSource::fabric, TraceKind::deliver, "NEW_SERVER 1:14 -> 1:ctrl 20 bytes",
        packet("NEW_SERVER", daemon_node, daemon_port, daemon_node, ctrl, 20));
    add(t += 0.1, TraceSource::ns, TraceKind::new_server, "service 14 version 1 instance 0 at 1:14");
    add(t += 0.2, TraceSource::modem, TraceKind::recovered, "modem");
    add(t += 0.1, TraceSource::fabric, TraceKind::bind, "socket 3 bound to 1:14");
    exchange("alloc buff 2097152 bytes", "ALLOC_BUFF", 21, 25);
    // Long steady traffic: far past the timeline's cap.
    for (int i = 0; i < 130; ++i) exchange("read 1 sector of modem_fs1 at " + std::to_string(i % 64), "RW_IOVEC", 40, 18 + 512);
    add(t += 3, TraceSource::server, TraceKind::io_fault, "EIO on write of modem_fs1 (nth 1)",
        io_fault_at(0, "modem_fs1", 8));
    add(t += 0.5, TraceSource::remoteproc, TraceKind::state, "remoteproc0: running -> crashed");
    add(t += 0.5, TraceSource::modem, TraceKind::crashed, "modem: EFS sync failed");
    for (int i = 0; i < 20; ++i) exchange("sync", "FORCE_SYNC_IND", 12, 12);
    for (std::size_t i = 0; i < 60; ++i)
        s.daemon_log.push_back("rmtfs: line " + std::to_string(i) + " of the daemon's log <ok>");
    return s;
}

inline engine::ScenarioResult clean_scenario() {
    engine::ScenarioResult s;
    s.name = "boot-clean";
    s.description = "Boot the modem once and read every partition.";
    s.file = "scenarios/basic/boot-clean.json";
    s.tags = {"basic"};
    s.verdict = engine::Verdict::pass;
    s.duration_ms = 812.0;
    s.seed = 1;
    s.reproduce = "rmtfs-hil run --seed 1 scenarios/basic/boot-clean.json";
    s.coupling = "manual";
    s.modem_up_at_end = true;
    s.ledger_verdict = "clean: 12 writes (10 ok, 2 unknown)";
    s.steps = {{0, "boot", "", engine::StepStatus::passed, "", 0, 400, "scenarios/basic/boot-clean.json:9:5"},
               {1, "expect", "", engine::StepStatus::passed, "", 400, 401, "scenarios/basic/boot-clean.json:10:5"}};
    double t = 0;
    s.trace.push_back(event(t, TraceSource::server, TraceKind::started, "pid 100 (start 1)"));
    for (int i = 0; i < 6; ++i) {
        s.trace.push_back(event(t += 1, TraceSource::fabric, TraceKind::deliver, "DATA 0:77 -> 1:14 38 bytes",
                                packet("DATA", modem_node, modem_port, daemon_node, daemon_port, 38)));
        s.trace.push_back(event(t += 1, TraceSource::fabric, TraceKind::link_tx, "modem0 DATA 1:14 -> 0:77 25 bytes",
                                packet("DATA", daemon_node, daemon_port, modem_node, modem_port, 25, "modem0")));
    }
    s.daemon_log = {"rmtfs: starting", "rmtfs: open /boot/modem_fs1"};
    return s;
}

inline engine::ScenarioResult hostile_scenario() {
    engine::ScenarioResult s;
    s.name = hostile_name;
    s.description = "description: " + hostile_text;
    s.file = "scenarios/<evil>.json";
    s.tags = {"<tag>&"};
    s.verdict = engine::Verdict::error;
    s.reason = "reason: " + hostile_text;
    s.duration_ms = 5.25;
    s.seed = 7;
    s.reproduce = "rmtfs-hil run '" + hostile_text + "'";
    s.coupling = "mem-open";
    s.faults = {"power_loss"};
    s.modem_up_at_end = false;
    s.data_lost = true;
    s.ledger_verdict = "1 violation";
    s.ledger_violations = {"violation: " + hostile_text};
    s.steps = {{0, "power_loss", hostile_text, engine::StepStatus::error, "message: " + hostile_text, 0, 5, "<where>:1:1"}};
    s.trace = {event(0, TraceSource::harness, TraceKind::power_loss, "detail: " + hostile_text),
               event(1, TraceSource::server, TraceKind::log, "log: " + hostile_text),
               event(2, TraceSource::fabric, TraceKind::deliver, "</svg></script><script>alert(1)</script>",
                     packet("DATA", modem_node, modem_port, daemon_node, daemon_port, 9, hostile_text,
                            "</svg><script>alert(2)</script>"))};
    s.daemon_log = {"<script>alert('log')</script>", hostile_text, "]]>"};
    return s;
}

// The sample's text without its invalid UTF-8 (every text is cut where its
// first 0xff byte is): what survives JSON whole, which replaces invalid bytes.
inline void cut_at_invalid_utf8(engine::ScenarioResult& s) {
    auto cut = [](std::string& text) { text = text.substr(0, text.find('\xff')); };
    cut(s.reason);
    cut(s.reproduce);
    cut(s.name);
    cut(s.description);
    for (auto& v : s.ledger_violations) cut(v);
    for (auto& l : s.daemon_log) cut(l);
    for (auto& e : s.trace) {
        cut(e.detail);
        if (e.fields.packet) cut(e.fields.packet->link);
    }
    for (auto& st : s.steps) {
        cut(st.note);
        cut(st.message);
    }
}

inline engine::ScenarioResult skipped_scenario() {
    engine::ScenarioResult s;
    s.name = "needs-adb";
    s.description = "Runs only against a device.";
    s.tags = {"device"};
    s.verdict = engine::Verdict::skip;
    s.reason = "target adb is not available";
    s.coupling = "service-watch";
    return s;
}

inline engine::ScenarioResult fixed_scenario() {
    engine::ScenarioResult s;
    s.name = "io-fault-on-sync";
    s.description = "EIO on fsync: the daemon must report the error to the modem.";
    s.file = "scenarios/storage/io-fault-on-sync.json";
    s.tags = {"storage", "faults"};
    s.verdict = engine::Verdict::pass;
    s.known_issue = "rmtfs ignores fsync errors";
    s.known_status = engine::KnownStatus::fixed;
    s.duration_ms = 1520.0;
    s.seed = 3;
    s.reproduce = "rmtfs-hil run --seed 3 scenarios/storage/io-fault-on-sync.json";
    s.coupling = "rmtfs-sysfs";
    s.faults = {"io_fault"};
    s.modem_up_at_end = true;
    s.recovery_ms = 80.0;
    s.ledger_verdict = "clean: 4 writes (4 ok)";
    s.trace = {event(0, TraceSource::server, TraceKind::started, "pid 7 (start 1)"),
               event(10, TraceSource::harness, TraceKind::io_fault_armed, "sync of modem_fs1 fails with EIO"),
               event(20, TraceSource::server, TraceKind::io_fault, "EIO on sync of modem_fs1"),
               event(100, TraceSource::modem, TraceKind::recovered, "modem")};
    return s;
}

inline engine::RunReport sample_report() {
    engine::RunReport r;
    r.started_at = "2024-05-04T10:11:12Z";
    r.server = "/usr/bin/rmtfs";
    r.seed = 42;
    r.jobs = 4;
    r.interrupted = false;
    r.duration_ms = 7750.0;
    r.command = "rmtfs-hil run --server /usr/bin/rmtfs --jobs 4 --seed 42 scenarios/";
    r.scenarios = {sigkill_scenario(), clean_scenario(), hostile_scenario(), skipped_scenario(), fixed_scenario()};
    return r;
}

}  // namespace rmtfs_hil::testing
