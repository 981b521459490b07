#include "hil/host/board_doctor.hpp"

#include <algorithm>
#include <sstream>

#include "engine/scenario.hpp"

#include "hil/host/adb_client.hpp"
#include "hil/host/board_connection.hpp"

namespace rmtfs_hil::hil {

namespace {

// adb's exit status for a command the board's shell did not find.
constexpr int shell_not_found = 127;

std::string first_line(const std::string& text) {
    std::string line = text.substr(0, text.find('\n'));
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    return line;
}

// What `--transport kernel` does to the service; `flag` says how its -s is
// known ("-s", or why it is assumed).
std::string kernel_run_note(bool drives_modem, std::string_view flag = "-s") {
    if (!drives_modem) return "; no -s: it does not drive the modem; --transport kernel stops it for the run "
                              "(the modem must then be off) and starts it again after";
    return "; " + std::string(flag) + ": it drives the modem, so --transport kernel (which stops it for the run and "
           "starts it again after) stops and starts the modem and needs --allow-modem-restart";
}

std::vector<std::string> words_of(const std::string& text) {
    std::istringstream in(text);
    std::vector<std::string> words;
    for (std::string word; in >> word;) words.push_back(word);
    return words;
}

// What a daemon's flags mean for the board, and for a run next to it.
std::string judge_flags(const std::vector<std::string>& argv, CheckStatus& status, std::string& fix) {
    const std::vector<std::string> args(argv.empty() ? argv.end() : argv.begin() + 1, argv.end());
    const engine::Capabilities needs = engine::needs_of_server_args(args);
    const bool read_only = std::find(args.begin(), args.end(), "-r") != args.end();
    std::string notes;
    if (needs.contains(engine::Capability::raw_partitions)) {
        notes += "; -P: it serves the raw EFS partitions";
        if (!read_only) {
            notes += ", and without -r it writes them";
            status = CheckStatus::warning;
            fix = "Debian and AOSP run it with -r (writes kept in memory); check this board meant to differ";
        }
    }
    notes += kernel_run_note(needs.contains(engine::Capability::daemon_drives_modem));
    return notes;
}

Check check_service(const AdbClient& adb) {
    const std::string name = "rmtfs service";
    AdbResult active = adb.shell({"systemctl", "is-active", "rmtfs"}, quick_command);
    if (active.status != shell_not_found && !active.timed_out && active.status >= 0) {
        AdbResult shown = adb.shell({"systemctl", "show", "-p", "ExecStart", "rmtfs"}, quick_command);
        const std::string exec = first_line(shown.out);
        const std::size_t argv_at = exec.find("argv[]=");
        if (!shown.ok() || argv_at == std::string::npos)
            return {name, CheckStatus::warning, "no rmtfs.service (systemd): nothing serves the modem's EFS",
                    "apt install rmtfs (Debian) and systemctl enable --now rmtfs"};
        std::string line = exec.substr(argv_at + 7);
        line = line.substr(0, line.find(" ;"));
        Check check{name, CheckStatus::ok, "", ""};
        std::string state = first_line(active.out);
        check.found = "rmtfs.service " + (state.empty() ? std::string("unknown") : state) + ": " + line;
        check.found += judge_flags(words_of(line), check.status, check.fix);
        if (state != "active") {
            check.status = CheckStatus::warning;
            check.fix = "systemctl start rmtfs (and journalctl -u rmtfs for why it is " + state + ")";
        }
        return check;
    }
    // AOSP: init's service, known by its property.
    AdbResult property = adb.shell({"getprop", "init.svc.rmtfs"}, quick_command);
    const std::string state = first_line(property.out);
    if (!property.ok() || state.empty())
        return {name, CheckStatus::warning,
                "neither systemctl nor an init service rmtfs (getprop init.svc.rmtfs is empty)",
                "install rmtfs and its service: systemd's rmtfs.service, or AOSP's 'service rmtfs' in an init .rc"};
    if (state != "running")
        return {name, CheckStatus::warning, "init service rmtfs: " + state, "start rmtfs (as root), or check logcat"};
    return {name, CheckStatus::ok, "init service rmtfs: running" + kernel_run_note(true, "-s assumed (AOSP's has it)"), ""};
}

}  // namespace

std::vector<Check> check_board_over_adb(const DoctorOptions& o, const std::function<void(const Check&)>& each) {
    std::vector<Check> checks;
    auto add = [&](Check check) {
        if (each) each(check);
        checks.push_back(std::move(check));
    };
    AdbClient adb(o.adb, o.serial);
    AdbResult version = adb.run({"version"}, quick_command);
    if (!version.ok()) {
        add({"adb", CheckStatus::problem, version.describe(o.adb + " version"),
             "install Debian's adb (apt install adb), or give --adb PATH"});
        return checks;
    }
    add({"adb", CheckStatus::ok, first_line(version.out) + " (" + o.adb + ")", ""});

    AdbServerGuard server_guard(adb);
    const std::string named = o.serial.empty() ? "adb's only device" : o.serial;
    try {
        connect_board(adb);
    } catch (const BoardError& e) {
        const std::string what = e.what();
        const bool refused_key =
            what.find("unauthorized") != std::string::npos || what.find("failed to authenticate") != std::string::npos;
        std::string fix = refused_key
                              ? "accept this host's key on the board (its RSA prompt), or add ~/.android/adbkey.pub to "
                                "the board's /data/misc/adb/adb_keys"
                          : is_tcp_serial(o.serial) ? "is the board on the network with adbd listening (adb tcpip 5555 over USB)?"
                                                    : "plug the board's USB, or give --serial (adb devices -l lists them)";
        add({"connection", CheckStatus::problem, what, fix});
        return checks;
    }
    add({"connection", CheckStatus::ok, named + " is online and authorized", ""});

    AdbResult uid = adb.shell({"id", "-u"}, quick_command);
    if (!uid.ok())
        add({"root", CheckStatus::problem, uid.describe("adb shell id -u"), "the board's shell must run id"});
    else if (first_line(uid.out) != "0")
        add({"root", CheckStatus::problem,
             "the shell runs as uid " + first_line(uid.out) + ": the agent needs root to read the partitions and "
             "to stop and restore the rmtfs service",
             "adb root (AOSP userdebug and eng builds), or run adbd as root"});
    else
        add({"root", CheckStatus::ok, "the shell runs as root", ""});

    AdbResult machine = adb.shell({"uname", "-m"}, quick_command);
    if (first_line(machine.out) == "aarch64")
        add({"architecture", CheckStatus::ok, "aarch64", ""});
    else
        add({"architecture", CheckStatus::warning,
             (machine.ok() ? first_line(machine.out) : machine.describe("adb shell uname -m")) +
                 ": the board agent is built for aarch64",
             "give --agent a build for this architecture"});

    add(check_service(adb));

    // What only the board's files tell: the agent checks it there.
    try {
        const std::string agent = push_agent(adb, o.remote_dir, o.agent);
        if (!o.shim.empty()) push_shim(adb, o.remote_dir, o.shim);
        std::vector<std::string> argv{agent, "agent", "--doctor"};
        if (!o.board.empty()) argv.insert(argv.end(), {"--board", push_board(adb, o.remote_dir, o.board)});
        if (!o.server.empty()) argv.insert(argv.end(), {"--server", o.server});
        AdbResult ran = adb.shell(argv, quick_command);
        bool done = false;
        std::istringstream lines(ran.out);
        for (std::string line; std::getline(lines, line);) {
            AgentLine parsed = parse_agent_line(line);
            if (auto* check = std::get_if<Check>(&parsed)) add(*check);
            done |= std::holds_alternative<Done>(parsed);
        }
        if (!done)
            add({"agent", CheckStatus::problem, ran.describe("the agent's checks"),
                 "push the agent built from this rmtfs-hil for the board's architecture (--agent PATH; `cmake "
                 "--build --preset aarch64` makes one)"});
    } catch (const BoardError& e) {
        add({"agent", CheckStatus::problem, e.what(), "is /data/local/tmp writable on the board?"});
    }
    adb.shell({"rm", "-rf", o.remote_dir}, quick_command);
    return checks;
}

}  // namespace rmtfs_hil::hil
