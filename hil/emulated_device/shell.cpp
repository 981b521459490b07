#include "hil/emulated_device/shell.hpp"

#include <elf.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <optional>
#include <utility>

#include "hil/agent/agent_protocol.hpp"

namespace rmtfs_hil::hil::emulated {

namespace fs = std::filesystem;
namespace asio = boost::asio;

namespace {

// ---------------------------------------------------------------------------
// Words.

// What a POSIX shell acts on outside quotes: lists, pipes, background jobs,
// expansions, command substitution, redirections, subshells.
constexpr std::string_view metacharacters = ";|&$`<>()";
// Inside double quotes a real shell still expands these.
constexpr std::string_view double_quote_expansions = "$`";
// The only characters a backslash escapes inside double quotes.
constexpr std::string_view double_quote_escapable = "$`\"\\\n";

CommandOutput failed(int status, std::string message) { return CommandOutput{status, "", std::move(message) + "\n"}; }

CommandOutput refused_character(char c, bool in_double_quotes) {
    std::string name = c == '\n' ? "a newline" : std::string("'") + c + "'";
    std::string where = in_double_quotes ? " inside double quotes" : " outside quotes";
    return failed(exit_not_found,
                  "emulated device: refused " + name + where +
                      ": it runs no shell, so it has no lists, pipes, redirections, expansions or subshells; "
                      "quote every argument ('...') to pass it as data");
}

class WordSplitter {
public:
    explicit WordSplitter(std::string_view line) : line_(line) {}

    Expected<std::vector<std::string>, CommandOutput> split() {
        while (at_ < line_.size()) {
            std::optional<CommandOutput> refusal = quote_ == Quote::none     ? unquoted(line_[at_])
                                                   : quote_ == Quote::single ? single_quoted(line_[at_])
                                                                             : double_quoted(line_[at_]);
            if (refusal) return unexpected(std::move(*refusal));
            ++at_;
        }
        if (quote_ != Quote::none)
            return unexpected(failed(exit_syntax_error, "emulated device: syntax error: unterminated quoted string"));
        end_word();
        return std::move(words_);
    }

private:
    enum class Quote { none, single, double_quote };

    std::optional<CommandOutput> unquoted(char c) {
        if (c == ' ' || c == '\t') {
            end_word();
        } else if (c == '\n' || metacharacters.find(c) != std::string_view::npos) {
            return refused_character(c, false);
        } else if (c == '\\') {
            if (at_ + 1 == line_.size())
                return failed(exit_syntax_error, "emulated device: syntax error: a backslash ends the line");
            take_escaped(line_[++at_]);
        } else if (c == '\'' || c == '"') {
            quote_ = c == '\'' ? Quote::single : Quote::double_quote;
            in_word_ = true;
        } else {
            add(c);
        }
        return std::nullopt;
    }

    std::optional<CommandOutput> single_quoted(char c) {
        if (c == '\'') quote_ = Quote::none;
        else add(c);
        return std::nullopt;
    }

    std::optional<CommandOutput> double_quoted(char c) {
        if (c == '"') {
            quote_ = Quote::none;
        } else if (c == '\\' && at_ + 1 < line_.size() && double_quote_escapable.find(line_[at_ + 1]) != std::string_view::npos) {
            take_escaped(line_[++at_]);
        } else if (double_quote_expansions.find(c) != std::string_view::npos) {
            return refused_character(c, true);
        } else {
            add(c);
        }
        return std::nullopt;
    }

    // A backslash-newline joins lines and stands for nothing.
    void take_escaped(char c) {
        if (c != '\n') add(c);
    }
    void add(char c) {
        word_ += c;
        in_word_ = true;
    }
    void end_word() {
        if (in_word_) words_.push_back(std::move(word_));
        word_.clear();
        in_word_ = false;
    }

    std::string_view line_;
    std::size_t at_ = 0;
    Quote quote_ = Quote::none;
    std::string word_;
    bool in_word_ = false;  // also an empty quoted word: ''
    std::vector<std::string> words_;
};

// ---------------------------------------------------------------------------
// Built-in board commands, acting inside the device root.

struct BuiltinContext {
    DeviceRoot& root;
    Board& board;
};
using Arguments = std::vector<std::string>;  // without the command's name

CommandOutput ok(std::string out = {}) { return CommandOutput{0, std::move(out), ""}; }

std::string error_text(std::string_view command, std::string_view path, int error_number) {
    return std::string(command) + ": " + std::string(path) + ": " + std::strerror(error_number) + "\n";
}

// Adds a failure to `out`: a later file still gets its turn, as with coreutils.
void add_failure(CommandOutput& out, std::string text) {
    out.exit_status = 1;
    out.standard_error += text;
}

// Resolves `path` for `command`, or adds the failure and answers nothing.
std::optional<fs::path> resolve_for(const BuiltinContext& context, std::string_view command, const std::string& path,
                                    CommandOutput& out, DeviceRoot::Last last = DeviceRoot::Last::follow) {
    auto resolved = context.root.resolve(path, last);
    if (!resolved) {
        add_failure(out, std::string(command) + ": " + resolved.error().message + "\n");
        return std::nullopt;
    }
    return *resolved;
}

CommandOutput run_true(BuiltinContext&, const Arguments&) { return ok(); }
CommandOutput run_false(BuiltinContext&, const Arguments&) { return CommandOutput{1, "", ""}; }

CommandOutput run_echo(BuiltinContext&, const Arguments& args) {
    const bool newline = args.empty() || args[0] != "-n";
    std::string out;
    for (std::size_t i = newline ? 0 : 1; i < args.size(); ++i) out += (out.empty() ? "" : " ") + args[i];
    return ok(newline ? out + "\n" : out);
}

// The device runs everything as root, as an engineering build of a board does.
CommandOutput run_id(BuiltinContext&, const Arguments& args) {
    if (args.empty()) return ok("uid=0(root) gid=0(root) groups=0(root)\n");
    if (args.size() == 1 && (args[0] == "-u" || args[0] == "-g")) return ok("0\n");
    return failed(1, "id: the emulated device knows only id, id -u and id -g");
}

CommandOutput run_uname(BuiltinContext& context, const Arguments& args) {
    const BoardDescription& board = context.board.description();
    const std::string option = args.empty() ? "-s" : args[0];
    if (args.size() > 1) return failed(1, "uname: the emulated device takes one option");
    if (option == "-s") return ok("Linux\n");
    if (option == "-m") return ok(board.machine + "\n");
    if (option == "-n") return ok(board.profile->name + "\n");
    if (option == "-a") return ok("Linux " + board.profile->name + " rmtfs-hil-emulated #1 SMP " + board.machine + " GNU/Linux\n");
    return failed(1, "uname: the emulated device knows -s, -n, -m and -a");
}

std::vector<std::pair<std::string, std::string>> properties(const BoardDescription& board) {
    const std::string& name = board.profile->name;
    return {{"ro.board.platform", name},  {"ro.hardware", "qcom"},
            {"ro.product.board", name},   {"ro.product.cpu.abi", "arm64-v8a"},
            {"ro.product.device", name},  {"ro.product.model", board.product_model},
            {"ro.product.name", name}};
}

// Android's getprop: a missing property is an empty line, no name lists all.
CommandOutput run_getprop(BuiltinContext& context, const Arguments& args) {
    auto table = properties(context.board.description());
    if (args.empty()) {
        std::string out;
        for (const auto& [name, value] : table) out += "[" + name + "]: [" + value + "]\n";
        return ok(out);
    }
    auto found = std::find_if(table.begin(), table.end(), [&](const auto& entry) { return entry.first == args[0]; });
    return ok((found == table.end() ? "" : found->second) + "\n");
}

Expected<std::string, int> read_whole(const fs::path& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return unexpected(errno);
    std::string text;
    char buffer[64 * 1024];
    ssize_t got;
    while ((got = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(got));
    int error_number = got < 0 ? errno : 0;
    ::close(fd);
    if (error_number != 0) return unexpected(error_number);
    return text;
}

CommandOutput run_cat(BuiltinContext& context, const Arguments& args) {
    CommandOutput out;
    for (const std::string& path : args) {
        auto resolved = resolve_for(context, "cat", path, out);
        if (!resolved) continue;
        auto text = read_whole(*resolved);
        if (text) out.standard_output += *text;
        else add_failure(out, error_text("cat", path, text.error()));
    }
    return out;
}

std::string mode_string(mode_t mode) {
    std::string text = S_ISDIR(mode) ? "d" : S_ISLNK(mode) ? "l" : S_ISREG(mode) ? "-" : "?";
    const char* letters = "rwxrwxrwx";
    for (int bit = 0; bit < 9; ++bit) text += (mode & (0400u >> bit)) ? letters[bit] : '-';
    return text;
}

std::string long_entry(const fs::path& path, const std::string& name) {
    struct stat status {};
    if (::lstat(path.c_str(), &status) != 0) return "? " + name + "\n";
    return mode_string(status.st_mode) + " " + std::to_string(status.st_nlink) + " root root " +
           std::to_string(status.st_size) + " " + name + "\n";
}

// Toybox's ls into a pipe: one name per line, sorted, dot files hidden.
CommandOutput run_ls(BuiltinContext& context, const Arguments& args) {
    bool long_format = false;
    std::vector<std::string> paths;
    for (const std::string& arg : args) {
        if (arg == "-l") long_format = true;
        else if (arg.starts_with("-")) return failed(1, "ls: the emulated device knows only -l");
        else paths.push_back(arg);
    }
    if (paths.size() > 1) return failed(1, "ls: the emulated device lists one path at a time");
    const std::string path = paths.empty() ? "/" : paths[0];
    CommandOutput out;
    auto resolved = resolve_for(context, "ls", path, out);
    if (!resolved) return out;
    std::error_code error;
    if (!fs::is_directory(*resolved, error)) {
        if (!fs::exists(*resolved, error)) {
            add_failure(out, error_text("ls", path, ENOENT));
            return out;
        }
        out.standard_output = long_format ? long_entry(*resolved, path) : path + "\n";
        return out;
    }
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(*resolved, error)) {
        std::string name = entry.path().filename().string();
        if (!name.starts_with(".")) names.push_back(std::move(name));
    }
    if (error) add_failure(out, error_text("ls", path, error.value()));
    std::sort(names.begin(), names.end());
    for (const std::string& name : names)
        out.standard_output += long_format ? long_entry(*resolved / name, name) : name + "\n";
    return out;
}

CommandOutput run_mkdir(BuiltinContext& context, const Arguments& args) {
    const bool parents = !args.empty() && args[0] == "-p";
    CommandOutput out;
    for (std::size_t i = parents ? 1 : 0; i < args.size(); ++i) {
        auto resolved = resolve_for(context, "mkdir", args[i], out);
        if (!resolved) continue;
        std::error_code error;
        if (parents) fs::create_directories(*resolved, error);
        else if (!fs::create_directory(*resolved, error) && !error) error = std::make_error_code(std::errc::file_exists);
        if (error) add_failure(out, error_text("mkdir", args[i], error.value()));
    }
    return out;
}

// Removes only inside /data/local/tmp: the rest of the board is not the
// host's to delete, on a real board either.
CommandOutput run_rm(BuiltinContext& context, const Arguments& args) {
    bool recursive = false, force = false;
    std::vector<std::string> paths;
    for (const std::string& arg : args) {
        if (arg.starts_with("-") && arg.size() > 1 && arg.find_first_not_of("-rRf") == std::string::npos) {
            recursive = recursive || arg.find_first_of("rR") != std::string::npos;
            force = force || arg.find('f') != std::string::npos;
        } else {
            paths.push_back(arg);
        }
    }
    CommandOutput out;
    for (const std::string& path : paths) {
        auto resolved = resolve_for(context, "rm", path, out, DeviceRoot::Last::no_follow);
        if (!resolved) continue;
        if (!context.root.within(*resolved, program_directory) ||
            context.root.device_path_of(*resolved) == program_directory) {
            add_failure(out, "rm: " + path + ": permission denied (the emulated device removes only inside " +
                                 std::string(program_directory) + ")\n");
            continue;
        }
        std::error_code error;
        if (!fs::exists(fs::symlink_status(*resolved, error))) {
            if (!force) add_failure(out, error_text("rm", path, ENOENT));
            continue;
        }
        if (fs::is_directory(fs::symlink_status(*resolved, error)) && !recursive) {
            add_failure(out, error_text("rm", path, EISDIR));
            continue;
        }
        fs::remove_all(*resolved, error);
        if (error) add_failure(out, error_text("rm", path, error.value()));
    }
    return out;
}

CommandOutput run_chmod(BuiltinContext& context, const Arguments& args) {
    if (args.size() < 2) return failed(1, "chmod: usage: chmod MODE FILE...");
    const std::string& mode_text = args[0];
    if (mode_text.empty() || mode_text.size() > 4 || mode_text.find_first_not_of("01234567") != std::string::npos)
        return failed(1, "chmod: " + mode_text + ": the emulated device takes octal modes only (755)");
    const auto mode = static_cast<mode_t>(std::stoul(mode_text, nullptr, 8));
    CommandOutput out;
    for (std::size_t i = 1; i < args.size(); ++i) {
        auto resolved = resolve_for(context, "chmod", args[i], out);
        if (resolved && ::chmod(resolved->c_str(), mode) != 0) add_failure(out, error_text("chmod", args[i], errno));
    }
    return out;
}

// `systemctl show -p ExecStart UNIT` (or --property=ExecStart) prints the
// unit's command line as systemd does.
CommandOutput run_systemctl_show(BuiltinContext& context, const Arguments& args) {
    std::vector<std::string> rest(args.begin() + 1, args.end());
    if (rest.size() == 3 && rest[0] == "-p") rest = {"--property=" + rest[1], rest[2]};
    if (rest.size() != 2 || rest[0] != "--property=ExecStart")
        return failed(1, "systemctl: the emulated device shows only -p ExecStart UNIT");
    const std::string& unit = rest[1];
    if (!context.board.service_state(unit)) return ok("ExecStart=\n");  // systemd: an unknown unit shows empty
    const std::string& line = context.board.description().rmtfs_command_line;
    const std::string path = line.substr(0, line.find(' '));
    return ok("ExecStart={ path=" + path + " ; argv[]=" + line +
              " ; ignore_errors=no ; start_time=[n/a] ; stop_time=[n/a] ; pid=0 ; code=(null) ; status=0/0 }\n");
}

// systemctl's answers for the units the board has: is-active prints the
// state (status 3 when not active), show the command line, the others are
// silent.
CommandOutput run_systemctl(BuiltinContext& context, const Arguments& args) {
    if (!args.empty() && args[0] == "show") return run_systemctl_show(context, args);
    if (args.size() != 2) return failed(1, "systemctl: the emulated device takes one verb and one unit");
    const std::string& verb = args[0];
    const std::string& unit = args[1];
    auto state = context.board.service_state(unit);
    if (verb == "is-active") {
        if (state == ServiceState::active) return ok("active\n");
        return CommandOutput{exit_systemctl_inactive, "inactive\n", ""};
    }
    if (verb != "start" && verb != "stop" && verb != "restart")
        return failed(1, "systemctl: the emulated device knows is-active, start, stop, restart and show");
    std::string full = unit.ends_with(".service") ? unit : unit + ".service";
    if (!state)
        return failed(exit_systemctl_no_unit, "Failed to " + verb + " " + full + ": Unit " + full + " not found.");
    std::string cause = "systemctl " + verb + " " + unit;
    if (verb == "restart") context.board.set_service_state(unit, ServiceState::inactive, cause);
    context.board.set_service_state(unit, verb == "stop" ? ServiceState::inactive : ServiceState::active, cause);
    return ok();
}

struct Builtin {
    std::string_view name;
    CommandOutput (*run)(BuiltinContext&, const Arguments&);
};
constexpr std::array builtins{
    Builtin{"true", run_true},   Builtin{"false", run_false}, Builtin{"echo", run_echo},
    Builtin{"id", run_id},       Builtin{"uname", run_uname}, Builtin{"getprop", run_getprop},
    Builtin{"cat", run_cat},     Builtin{"ls", run_ls},       Builtin{"mkdir", run_mkdir},
    Builtin{"rm", run_rm},       Builtin{"chmod", run_chmod}, Builtin{"systemctl", run_systemctl},
};

// ---------------------------------------------------------------------------
// Pushed programs.

#if defined(__aarch64__)
constexpr bool host_is_aarch64 = true;
#else
constexpr bool host_is_aarch64 = false;
#endif

enum class Executable { elf, elf_aarch64, not_elf };

Executable executable_kind(const fs::path& path) {
    unsigned char header[EI_NIDENT + 4] = {};  // e_ident, e_type, e_machine
    FileDescriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file || ::read(file.get(), header, sizeof header) != static_cast<ssize_t>(sizeof header) ||
        std::memcmp(header, ELFMAG, SELFMAG) != 0)
        return Executable::not_elf;
    // e_machine, in the file's byte order: little endian for aarch64 programs.
    const unsigned machine = header[EI_NIDENT + 2] | header[EI_NIDENT + 3] << 8;
    return machine == EM_AARCH64 ? Executable::elf_aarch64 : Executable::elf;
}

std::optional<fs::path> find_on(std::string_view search_path, std::string_view name) {
    std::size_t start = 0;
    while (start <= search_path.size()) {
        std::size_t end = std::min(search_path.find(':', start), search_path.size());
        std::string_view dir = search_path.substr(start, end - start);
        if (!dir.empty()) {
            fs::path candidate = fs::path(dir) / name;
            if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        }
        start = end + 1;
    }
    return std::nullopt;
}

std::string describe_words(const std::vector<std::string>& words) {
    std::string text = "[";
    for (const std::string& word : words) text += (text.size() > 1 ? ", '" : "'") + word + "'";
    return text + "]";
}

}  // namespace

Expected<std::vector<std::string>, CommandOutput> split_words(std::string_view command_line) {
    return WordSplitter(command_line).split();
}

// ---------------------------------------------------------------------------

Shell::Shell(DeviceRoot& root, Board& board, std::string search_path, LogSink log)
    : root_(root), board_(board), search_path_(std::move(search_path)), log_(std::move(log)) {}

CommandPlan Shell::plan(std::string_view command_line) {
    auto words = split_words(command_line);
    if (!words) {
        const std::string& message = words.error().standard_error;
        record(command_line, {}, "refused: " + message.substr(0, message.find('\n')));
        return words.error();
    }
    std::string outcome;
    CommandPlan plan = plan_words(*words, outcome);
    record(command_line, std::move(*words), std::move(outcome));
    return plan;
}

CommandOutput Shell::run_builtin(const std::vector<std::string>& words, std::string_view caller) {
    std::string outcome = "refused: not a board command";
    CommandOutput output{exit_not_found, "", (words.empty() ? std::string() : words[0]) + ": not a board command\n"};
    // A name with a slash is a program, which a program on the device runs itself.
    if (!words.empty() && words[0].find('/') == std::string::npos) {
        CommandPlan plan = plan_words(words, outcome);
        if (auto* ran = std::get_if<CommandOutput>(&plan)) output = *ran;
    }
    record(caller, words, outcome);
    return output;
}

CommandPlan Shell::plan_words(const std::vector<std::string>& words, std::string& outcome) {
    if (words.empty()) {
        outcome = "empty";
        return CommandOutput{};
    }
    if (words[0].find('/') != std::string::npos) return plan_program(words, outcome);
    for (const Builtin& builtin : builtins) {
        if (builtin.name != words[0]) continue;
        BuiltinContext context{root_, board_};
        CommandOutput out = builtin.run(context, Arguments(words.begin() + 1, words.end()));
        outcome = "built-in, exit " + std::to_string(out.exit_status);
        return out;
    }
    outcome = "not found";
    return failed(exit_not_found, words[0] + ": not found");
}

CommandPlan Shell::plan_program(const std::vector<std::string>& words, std::string& outcome) {
    const std::string& name = words[0];
    auto refuse = [&](int status, std::string why) -> CommandPlan {
        outcome = "refused: " + why;
        return failed(status, name + ": " + why);
    };
    auto resolved = root_.resolve(name);
    if (!resolved) return refuse(exit_not_found, resolved.error().message);
    if (!root_.within(*resolved, program_directory))
        return refuse(exit_not_found, "not found (the emulated device runs its built-ins and programs pushed under " +
                                          std::string(program_directory) + ", nothing else)");
    struct stat status {};
    if (::stat(resolved->c_str(), &status) != 0) return refuse(exit_not_found, "not found");
    if (!S_ISREG(status.st_mode) || (status.st_mode & 0111) == 0) return refuse(exit_cannot_execute, "Permission denied");

    // adbd starts a shell's commands in "/": here, the device's root, so a
    // relative path the host gives (data/local/tmp/...) is the device's.
    ProgramLaunch launch{*resolved, words, root_.host_root(), program_environment()};
    switch (executable_kind(*resolved)) {
        case Executable::not_elf:
            return refuse(exit_cannot_execute,
                          "not an ELF executable (the emulated device runs no shell, so no scripts)");
        case Executable::elf_aarch64:
            if (host_is_aarch64) break;
            if (auto qemu = find_on(search_path_, aarch64_runner)) {
                launch.executable = *qemu;
                launch.argv = {qemu->string(), "-0", name, resolved->string()};
                launch.argv.insert(launch.argv.end(), words.begin() + 1, words.end());
                break;
            }
            return refuse(exit_cannot_execute, "an aarch64 program, and " + std::string(aarch64_runner) +
                                                   " is not on PATH (Debian package qemu-user-static)");
        case Executable::elf:
            break;
    }
    outcome = "program " + launch.executable.string();
    return launch;
}

std::vector<std::string> Shell::program_environment() const {
    const std::string tmp = (root_.host_root() / fs::path(program_directory).relative_path()).string();
    // TMPDIR as Android sets it, so a program's scratch files stay on the device.
    std::vector<std::string> environment{"PATH=/usr/bin:/bin", "HOME=" + tmp, "TMPDIR=" + tmp,
                                         std::string(hil::device_root_variable) + "=" + root_.host_root().string()};
    return environment_hook_ ? environment_hook_(std::move(environment)) : environment;
}

void Shell::record(std::string_view command_line, std::vector<std::string> argv, std::string outcome) {
    log_("command: " + describe_words(argv) + " from '" + std::string(command_line) + "': " + outcome);
    std::lock_guard lock(mutex_);
    commands_.push_back(CommandRecord{std::string(command_line), std::move(argv), std::move(outcome)});
}

std::vector<CommandRecord> Shell::commands() const {
    std::lock_guard lock(mutex_);
    return commands_;
}

// ---------------------------------------------------------------------------
// Starting a program.

namespace {

constexpr std::size_t output_read_bytes = 64 * 1024;

struct Pipe {
    FileDescriptor read;
    FileDescriptor write;
};

std::optional<Pipe> make_pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return std::nullopt;
    return Pipe{FileDescriptor(fds[0]), FileDescriptor(fds[1])};
}

// Everything the child needs, prepared before fork: after it only
// async-signal-safe calls are allowed (the device may have threads).
struct ChildSetup {
    pid_t parent;
    int stdin_fd, stdout_fd, stderr_fd, report_fd;
    const char* executable;
    const char* working_directory;
    char* const* argv;
    char* const* envp;
};

[[noreturn]] void report_and_exit(int report_fd, int error_number) {
    [[maybe_unused]] ssize_t ignored = ::write(report_fd, &error_number, sizeof error_number);
    ::_exit(exit_cannot_execute);
}

[[noreturn]] void become_program(const ChildSetup& setup) {
    ::setpgid(0, 0);
    // The device dying must not leave the program behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != setup.parent) ::_exit(exit_cannot_execute);
    // A clean slate: the device ignores SIGPIPE, a test runner may block signals.
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int signal_number = 1; signal_number < NSIG; ++signal_number) ::sigaction(signal_number, &default_action, nullptr);
    sigset_t none;
    ::sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (::dup2(setup.stdin_fd, 0) < 0 || ::dup2(setup.stdout_fd, 1) < 0 || ::dup2(setup.stderr_fd, 2) < 0)
        report_and_exit(setup.report_fd, errno);
    // The device's sockets and files are not the program's business.
    ::close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
    if (::chdir(setup.working_directory) != 0) report_and_exit(setup.report_fd, errno);
    ::execve(setup.executable, setup.argv, setup.envp);
    report_and_exit(setup.report_fd, errno);
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
    std::vector<char*> pointers;
    for (const std::string& s : strings) pointers.push_back(const_cast<char*>(s.c_str()));
    pointers.push_back(nullptr);
    return pointers;
}

// Glibc 2.36's <sys/pidfd.h> declares pidfd_open without extern "C".
int open_pidfd(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

int exit_status_of(int wait_status) {
    if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
    return WEXITSTATUS(wait_status);
}

}  // namespace

Programs::Programs(asio::io_context& io, std::chrono::milliseconds stop_grace, LogSink log)
    : io_(io), stop_grace_(stop_grace), log_(std::move(log)) {
    std::signal(SIGPIPE, SIG_IGN);
}

Programs::~Programs() { kill_all(); }

Expected<std::shared_ptr<RunningProgram>, CommandOutput> Programs::start(const ProgramLaunch& launch,
                                                                          ProgramEvents events) {
    const std::string name = launch.argv.empty() ? launch.executable.string() : launch.argv[0];
    auto cannot = [&](int error_number) {
        return unexpected(failed(error_number == ENOENT ? exit_not_found : exit_cannot_execute,
                                 name + ": cannot execute: " + std::strerror(error_number)));
    };
    auto in = make_pipe(), out = make_pipe(), err = make_pipe(), report = make_pipe();
    if (!in || !out || !err || !report) return cannot(errno);
    std::vector<char*> argv = c_strings(launch.argv), envp = c_strings(launch.environment);
    const std::string executable = launch.executable.string(), directory = launch.working_directory.string();
    ChildSetup setup{::getpid(),         in->read.get(),     out->write.get(), err->write.get(), report->write.get(),
                     executable.c_str(), directory.c_str(), argv.data(),      envp.data()};

    const pid_t pid = ::fork();
    if (pid < 0) return cannot(errno);
    if (pid == 0) become_program(setup);
    ::setpgid(pid, pid);  // also here: the group must exist before anyone signals it
    in->read.reset();
    out->write.reset();
    err->write.reset();
    report->write.reset();

    int exec_error = 0;
    ssize_t got;
    while ((got = ::read(report->read.get(), &exec_error, sizeof exec_error)) < 0 && errno == EINTR) {}
    if (got == static_cast<ssize_t>(sizeof exec_error)) {
        ::waitpid(pid, nullptr, 0);
        return cannot(exec_error);
    }
    FileDescriptor pidfd(open_pidfd(pid));
    if (pidfd.get() < 0) {
        int error_number = errno;
        ::kill(-pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        return cannot(error_number);
    }
    std::shared_ptr<RunningProgram> program(new RunningProgram(io_, *this, pid, pidfd.release(), in->write.release(),
                                                               out->read.release(), err->read.release(),
                                                               std::move(events)));
    running_.insert(program);
    log_("program " + std::to_string(pid) + " started: " + describe_words(launch.argv));
    program->begin();
    return program;
}

void Programs::kill_all() {
    for (const auto& program : running_) {
        program->kill_now();
        log_("program " + std::to_string(program->pid()) + " killed");
    }
    running_.clear();
}

void Programs::reaped(const std::shared_ptr<RunningProgram>& program) {
    log_("program " + std::to_string(program->pid()) + " ended: exit status " + std::to_string(program->exit_status_));
    running_.erase(program);
}

// ---------------------------------------------------------------------------

RunningProgram::RunningProgram(asio::io_context& io, Programs& table, pid_t pid, int pidfd, int stdin_fd,
                               int stdout_fd, int stderr_fd, ProgramEvents events)
    : table_(table),
      pid_(pid),
      pidfd_(io, pidfd),
      stdin_(io, stdin_fd),
      outputs_{asio::posix::stream_descriptor(io, stdout_fd), asio::posix::stream_descriptor(io, stderr_fd)},
      grace_(io),
      events_(std::move(events)) {}

void RunningProgram::begin() {
    read_output(OutputStream::standard_output);
    read_output(OutputStream::standard_error);
    wait_for_exit();
}

void RunningProgram::read_output(OutputStream stream) {
    const auto index = static_cast<std::size_t>(stream);
    if (killed_ || paused_ || reading_[index] || !outputs_[index].is_open()) return;
    reading_[index] = true;
    output_buffers_[index].resize(output_read_bytes);
    outputs_[index].async_read_some(
        asio::buffer(output_buffers_[index]),
        [self = shared_from_this(), stream, index](const boost::system::error_code& error, std::size_t got) {
            self->reading_[index] = false;
            if (self->killed_) return;
            if (error) {  // end of file: the program and its group closed it
                boost::system::error_code ignored;
                self->outputs_[index].close(ignored);
                self->finish_if_done();
                return;
            }
            if (self->events_.output) self->events_.output(stream, ByteView(self->output_buffers_[index].data(), got));
            self->read_output(stream);
        });
}

void RunningProgram::wait_for_exit() {
    pidfd_.async_wait(asio::posix::stream_descriptor::wait_read,
                      [self = shared_from_this()](const boost::system::error_code& error) {
                          if (!error && !self->killed_) self->exited();
                      });
}

void RunningProgram::exited() {
    // The leader is a zombie until reaped, so its group id cannot have been
    // reused yet: the last moment to kill what it left in the group.
    signal_group(SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    exit_status_ = exit_status_of(status);
    grace_.cancel();
    boost::system::error_code ignored;
    pidfd_.close(ignored);
    stdin_.close(ignored);
    finish_if_done();
}

void RunningProgram::finish_if_done() {
    if (finished_ || !reaped_ || outputs_[0].is_open() || outputs_[1].is_open()) return;
    finished_ = true;
    auto self = shared_from_this();
    if (events_.ended) events_.ended(exit_status_);
    table_.reaped(self);
}

void RunningProgram::write_stdin(Bytes bytes, std::function<void()> written) {
    if (!stdin_.is_open()) {
        asio::post(stdin_.get_executor(), std::move(written));
        return;
    }
    stdin_pending_ = std::move(bytes);
    asio::async_write(stdin_, asio::buffer(stdin_pending_),
                      [self = shared_from_this(), written = std::move(written)](const boost::system::error_code& error,
                                                                                 std::size_t) {
                          if (self->killed_) return;
                          if (error) {  // EPIPE: the program closed its stdin or ended
                              boost::system::error_code ignored;
                              self->stdin_.close(ignored);
                          }
                          written();
                      });
}

void RunningProgram::close_stdin() {
    boost::system::error_code ignored;
    stdin_.close(ignored);
}

void RunningProgram::pause_output() { paused_ = true; }

void RunningProgram::resume_output() {
    paused_ = false;
    read_output(OutputStream::standard_output);
    read_output(OutputStream::standard_error);
}

void RunningProgram::terminate() {
    close_stdin();
    if (reaped_ || killed_) return;
    table_.log_("program " + std::to_string(pid_) + ": its stream closed, SIGTERM to its process group");
    signal_group(SIGTERM);
    signal_group(SIGCONT);  // a stopped program could not act on the SIGTERM
    grace_.expires_after(table_.stop_grace_);
    grace_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
        if (error || self->reaped_ || self->killed_) return;
        self->table_.log_("program " + std::to_string(self->pid_) + ": still there after the grace, SIGKILL");
        self->signal_group(SIGKILL);
    });
}

void RunningProgram::signal_group(int signal_number) {
    if (!reaped_) ::kill(-pid_, signal_number);
}

void RunningProgram::kill_now() {
    if (!reaped_) {
        signal_group(SIGKILL);
        ::waitpid(pid_, nullptr, 0);
        reaped_ = true;
    }
    killed_ = true;
    finished_ = true;
    boost::system::error_code ignored;
    pidfd_.close(ignored);
    stdin_.close(ignored);
    outputs_[0].close(ignored);
    outputs_[1].close(ignored);
    grace_.cancel();
}

}  // namespace rmtfs_hil::hil::emulated
