// The Python module `rmtfs_hil`: a rig (engine/rig.hpp) for pytest — the real
// daemon against simulated modems, with fault points and the write ledger.
// Every call runs the rig's event loop until its answer is in or its bound
// has passed, so tests read as a sequence of steps.
//
//   import rmtfs_hil
//   options = rmtfs_hil.RigOptions()
//   options.coupling = "service-watch"
//   with rmtfs_hil.Rig(options) as rig:
//       rig.start_daemon()
//       assert rig.wait_for_boot().ok
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <unistd.h>

#include <csignal>
#include <type_traits>
#include <variant>

#include "engine/report.hpp"
#include "engine/rig.hpp"
#include "engine/runner.hpp"
#include "engine/scenario_loader.hpp"
#include "proto/errno_names.hpp"

namespace py = pybind11;
using namespace rmtfs_hil;

namespace {

// Options as Python sets them: names and strings, not enums.
struct PyRigOptions {
    std::string board = "sdm845";
    std::string server = engine::default_server;
    std::vector<std::string> server_args = {"-o", engine::storage_placeholder, "-v"};
    std::string coupling = "manual";
    bool recovery = true;
    bool restart = false;  // restart policy: Restart=always
    int restart_delay_ms = 1000;
    int modems = 1;
    std::string on_service_loss = "fatal";
    std::string on_open_failure = "fail";
    int request_timeout_ms = 2000;
    int service_wait_ms = 10000;
    int sync_interval_ms = 0;
    std::uint32_t image_sectors = engine::default_partition_sectors;
    std::uint64_t partition_bytes = std::uint64_t{engine::default_partition_sectors} * rmtfs::sector_size_bytes;
    std::uint64_t seed = 1;
    bool kernel_name_service = true;
    bool ask_storage_reads = false;
    bool ask_memory_io = false;
};

[[noreturn]] void bad(const std::string& what) { throw py::value_error(what); }

// A name from an enum's table, or a ValueError listing the names.
template <class E>
E value_named(const std::string& what, const std::string& name) {
    if (auto value = named<E>(name)) return *value;
    std::string known;
    for (const auto& n : names_of<E>()) known += (known.empty() ? "" : ", ") + n;
    bad("unknown " + what + " '" + name + "' (" + known + ")");
}

engine::RigOptions to_options(const PyRigOptions& o) {
    engine::RigOptions options;
    auto board = server::resolve_board(o.board);
    if (!board) bad(board.error());
    options.board = *board;
    options.server = o.server;
    options.server_args = o.server_args;
    options.coupling = value_named<sim::CouplingPolicy>("coupling policy", o.coupling);
    options.recovery = o.recovery;
    options.restart.enabled = o.restart;
    options.restart.delay = std::chrono::milliseconds(o.restart_delay_ms);
    auto loss = value_named<sim::ServiceLoss>("on_service_loss", o.on_service_loss);
    auto open_failure = value_named<sim::OpenFailure>("on_open_failure", o.on_open_failure);
    if (o.modems < 1) bad("modems must be at least 1");
    options.modems.clear();
    for (int i = 0; i < o.modems; ++i) {
        engine::ModemSpec spec;
        spec.name = i == 0 ? "modem" : "modem" + std::to_string(i);
        spec.config.node = i == 0 ? options.board->modem_node : static_cast<std::uint32_t>(10 + i);
        spec.config.on_service_loss = loss;
        spec.config.on_open_failure = open_failure;
        spec.config.request_timeout = std::chrono::milliseconds(o.request_timeout_ms);
        spec.config.service_wait = std::chrono::milliseconds(o.service_wait_ms);
        spec.config.sync_interval = std::chrono::milliseconds(o.sync_interval_ms);
        spec.config.image_sectors = o.image_sectors;
        options.modems.push_back(spec);
    }
    options.partition_bytes = o.partition_bytes;
    options.seed = o.seed;
    options.kernel_name_service = o.kernel_name_service;
    options.ask_storage_reads = o.ask_storage_reads;
    options.ask_memory_io = o.ask_memory_io;
    return options;
}

int errno_of(const py::object& error) {
    if (py::isinstance<py::int_>(error)) return error.cast<int>();
    auto name = error.cast<std::string>();
    auto number = errno_named(name);
    if (!number) bad("unknown errno name '" + name + "'");
    return *number;
}

std::uint16_t message_id_of(const py::object& message) {
    if (py::isinstance<py::int_>(message)) return message.cast<std::uint16_t>();
    auto name = message.cast<std::string>();
    return static_cast<std::uint16_t>(value_named<rmtfs::MessageId>("message", name));
}

// The Python object: owns the rig until close().
class PyRig {
public:
    explicit PyRig(const PyRigOptions& options) {
        auto created = engine::Rig::create(to_options(options));
        if (!created) throw std::runtime_error("cannot make the rig: " + created.error());
        rig_ = std::move(*created);
        // Ctrl-C (and pytest's timeouts) reach Python while a wait runs: the
        // wait ends and KeyboardInterrupt propagates from the call.
        // Long calls release the GIL (other Python threads run meanwhile):
        // the check takes it back only to ask.
        rig_->set_interrupt([] {
            py::gil_scoped_acquire acquire;
            if (PyErr_CheckSignals() != 0) throw py::error_already_set();
            return false;
        });
    }
    void close() { rig_.reset(); }
    engine::Rig& rig() {
        if (!rig_) throw std::runtime_error("the rig is closed");
        return *rig_;
    }

private:
    std::unique_ptr<engine::Rig> rig_;
};

std::chrono::milliseconds ms(int value) { return std::chrono::milliseconds(value); }

// ---- arguments as Python gives them, checked with short messages (never an
// echo of a payload)

std::string type_name(const py::handle& value) { return py::str(py::type::of(value).attr("__name__")); }

// An int (not a bool) from 0 to `most`.
std::uint64_t whole_number(const py::handle& value, const char* name, std::uint64_t most) {
    if (!PyLong_Check(value.ptr()) || PyBool_Check(value.ptr()))
        throw py::type_error(std::string(name) + " must be an int, not " + type_name(value));
    int overflow = 0;
    long long number = PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
    if (overflow != 0 || number < 0 || static_cast<unsigned long long>(number) > most)
        bad(std::string(name) + " must be from 0 to " + std::to_string(most) +
            (overflow != 0 ? std::string(", not that large a number") : ", not " + std::to_string(number)));
    return static_cast<std::uint64_t>(number);
}

// bytes, bytearray, memoryview or any contiguous buffer, copied.
Bytes bytes_of(const py::handle& data, const char* name) {
    if (!PyObject_CheckBuffer(data.ptr()))
        throw py::type_error(std::string(name) + " must be bytes, bytearray or memoryview, not " + type_name(data));
    Py_buffer view{};
    if (PyObject_GetBuffer(data.ptr(), &view, PyBUF_C_CONTIGUOUS) != 0) {
        PyErr_Clear();
        throw py::type_error(std::string(name) + " must be a contiguous buffer");
    }
    const auto* begin = static_cast<const std::uint8_t*>(view.buf);
    Bytes bytes(begin, begin + view.len);
    PyBuffer_Release(&view);
    return bytes;
}

// A partition by index or by name ("/boot/modem_fs1", or "modem_fs1").
std::size_t partition_of(const sim::Modem& modem, const py::handle& partition) {
    const std::vector<std::string>& names = modem.config().partitions;
    if (py::isinstance<py::str>(partition)) {
        const std::string wanted = partition.cast<std::string>();
        for (std::size_t i = 0; i < names.size(); ++i)
            if (names[i] == wanted || names[i] == "/boot/" + wanted) return i;
        std::string known;
        for (const auto& name : names) known += (known.empty() ? "" : ", ") + name;
        bad("no partition '" + wanted.substr(0, 80) + "' (the modem's: " + known + ")");
    }
    if (!PyLong_Check(partition.ptr()) || PyBool_Check(partition.ptr()))
        throw py::type_error("partition must be a name (str) or an index (int), not " + type_name(partition));
    if (names.empty()) bad("the modem has no partitions");
    return static_cast<std::size_t>(whole_number(partition, "partition", names.size() - 1));
}

// A modem request's answer, as Python reads it.
struct PyAnswer {
    bool answered = false;   // an answer came (it may still be a failure)
    std::string message;     // "OPEN response"
    std::optional<int> result, error;
    std::optional<std::uint32_t> caller_id;
    std::optional<std::uint64_t> address;
    std::optional<int> status;
    std::string failure;     // no answer or not a fitting one: timeout, service_gone, ...
    std::string detail;      // the answer in one line, or why there was none

    bool ok() const { return answered && result == 0; }
};

PyAnswer answer_of(const std::optional<sim::Response>& response) {
    PyAnswer a;
    if (!response) {
        a.failure = "timeout";
        a.detail = "no answer came while the modem waited";
        return a;
    }
    if (!*response) {
        a.failure = std::string(sim::to_string(response->error().kind));
        a.detail = response->error().detail;
        return a;
    }
    const rmtfs::Message& m = **response;
    a.answered = true;
    a.message = rmtfs::message_name(m);
    a.detail = rmtfs::summary(m);
    std::visit([&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (requires { body.result; }) {
            a.result = body.result.result;
            a.error = body.result.error;
        }
        if constexpr (std::is_same_v<T, rmtfs::OpenResponse>) a.caller_id = body.caller_id;
        if constexpr (std::is_same_v<T, rmtfs::AllocBuffResponse>) a.address = body.buff_address;
        if constexpr (std::is_same_v<T, rmtfs::GetDevErrorResponse>)
            if (body.status) a.status = *body.status;
    }, m);
    return a;
}

// The Python object for one modem of a rig: its requests, one method each.
struct PyModem {
    PyRig* rig;
    std::size_t index;
    sim::Modem& modem() const {
        sim::Modem* m = rig->rig().modem(index);
        if (m == nullptr) bad("no modem " + std::to_string(index));
        return *m;
    }
    engine::WriteResult write(const py::handle& partition, const py::handle& sector, const py::handle& data) const {
        const std::size_t p = partition_of(modem(), partition);
        const auto first = static_cast<std::uint32_t>(whole_number(sector, "sector", UINT32_MAX));
        Bytes bytes = bytes_of(data, "data");
        if (bytes.empty() || bytes.size() % rmtfs::sector_size_bytes != 0)
            bad("data must be whole 512-byte sectors, not " + std::to_string(bytes.size()) + " bytes");
        engine::WriteResult result;
        {
            py::gil_scoped_release release;
            result = rig->rig().write(index, p, first, bytes);
        }
        if (!result.sent) bad(result.detail);
        return result;
    }
    engine::ReadResult read(const py::handle& partition, const py::handle& sector, const py::handle& count) const {
        const std::size_t p = partition_of(modem(), partition);
        const auto first = static_cast<std::uint32_t>(whole_number(sector, "sector", UINT32_MAX));
        const auto sectors = static_cast<std::uint32_t>(whole_number(count, "count", UINT32_MAX));
        if (sectors == 0) bad("count must be at least 1");
        engine::ReadResult result;
        {
            py::gil_scoped_release release;
            result = rig->rig().read(index, p, first, sectors);
        }
        if (!result.sent) bad(result.detail);
        return result;
    }
    PyAnswer request(const rmtfs::Message& message) const {
        (void)modem();
        std::optional<sim::Response> response;
        {
            py::gil_scoped_release release;
            response = rig->rig().request(index, message);
        }
        return answer_of(response);
    }
};

// A rig's modem by index, named when it is not there.
PyModem modem_of(PyRig& rig, const py::object& index) {
    auto i = static_cast<std::size_t>(whole_number(index, "modem", SIZE_MAX));
    if (rig.rig().modem(i) == nullptr)
        bad("no modem " + std::to_string(i) + " (the rig has " + std::to_string(rig.rig().modem_count()) + ")");
    return PyModem{&rig, i};
}

// A scenario file or folder's errors, each "file:line:col: /pointer: message".
struct ScenarioFileError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// A scenario as Python gives it: a path (str or os.PathLike) or a dict.
engine::Scenario load(const py::object& scenario) {
    Expected<engine::Scenario, std::vector<engine::ScenarioError>> loaded = unexpected(std::vector<engine::ScenarioError>{});
    if (py::isinstance<py::dict>(scenario)) {
        std::string text;
        try {
            text = py::module_::import("json").attr("dumps")(scenario).cast<std::string>();
        } catch (const py::error_already_set&) {
            throw py::type_error("the scenario dict is not JSON: its values must be dicts, lists, strings, numbers, "
                                 "booleans or None");
        }
        loaded = engine::load_scenario(text, "<dict>");
    } else if (py::isinstance<py::str>(scenario) || py::hasattr(scenario, "__fspath__")) {
        const std::string path = py::module_::import("os").attr("fspath")(scenario).cast<std::string>();
        loaded = engine::load_scenario_file(path);
    } else {
        throw py::type_error("scenario must be a path (str or os.PathLike) or a dict, not " +
                             std::string(py::str(py::type::of(scenario).attr("__name__"))));
    }
    if (loaded) return std::move(*loaded);
    std::string text;
    for (const auto& error : loaded.error()) text += (text.empty() ? "" : "\n") + error.describe();
    throw ScenarioFileError(text);
}

// The daemon a scenario runs: given, or $RMTFS_HIL_SERVER, or Debian's.
std::string server_of(const std::optional<std::string>& given) {
    std::string server = given.value_or("");
    if (server.empty())
        if (const char* env = std::getenv("RMTFS_HIL_SERVER"); env != nullptr) server = env;
    if (server.empty()) server = engine::default_server;
    if (::access(server.c_str(), X_OK) != 0)
        throw py::value_error("server " + server + ": " + errno_text(errno) +
                              " (give the daemon under test: server=PATH, or $RMTFS_HIL_SERVER; Debian's is "
                              "/usr/bin/rmtfs from the rmtfs package)");
    return server;
}

py::object json_value(const std::string& text) { return py::module_::import("json").attr("loads")(text); }

}  // namespace

// One long table of bindings, one per line: the Python API as users read it.
PYBIND11_MODULE(rmtfs_hil, m) {
    m.doc() = "rmtfs-hil: the real rmtfs daemon against simulated modems, with exact fault points";

    py::class_<PyRigOptions>(m, "RigOptions")
        .def(py::init<>())
        .def_readwrite("board", &PyRigOptions::board, "board profile: a built-in name (sdm845, the default; apq8016; qcm6490) or a board file path")
        .def_readwrite("server", &PyRigOptions::server, "the daemon's binary")
        .def_readwrite("server_args", &PyRigOptions::server_args, "its arguments; '{storage}' is the storage dir")
        .def_readwrite("coupling", &PyRigOptions::coupling, "manual, rmtfs-sysfs, mem-open or service-watch")
        .def_readwrite("recovery", &PyRigOptions::recovery, "a crashed modem is restarted (subsystem restart)")
        .def_readwrite("restart", &PyRigOptions::restart, "restart the daemon whenever it ends (Restart=always)")
        .def_readwrite("restart_delay_ms", &PyRigOptions::restart_delay_ms)
        .def_readwrite("modems", &PyRigOptions::modems, "remote processors, each its own node")
        .def_readwrite("on_service_loss", &PyRigOptions::on_service_loss, "fatal, reopen or ignore")
        .def_readwrite("on_open_failure", &PyRigOptions::on_open_failure, "fail, crash or skip")
        .def_readwrite("request_timeout_ms", &PyRigOptions::request_timeout_ms)
        .def_readwrite("service_wait_ms", &PyRigOptions::service_wait_ms)
        .def_readwrite("sync_interval_ms", &PyRigOptions::sync_interval_ms, "periodic EFS syncs; 0: none")
        .def_readwrite("image_sectors", &PyRigOptions::image_sectors, "sectors each boot loads per partition")
        .def_readwrite("partition_bytes", &PyRigOptions::partition_bytes)
        .def_readwrite("seed", &PyRigOptions::seed, "the storage files' initial contents")
        .def_readwrite("kernel_name_service", &PyRigOptions::kernel_name_service)
        .def_readwrite("ask_storage_reads", &PyRigOptions::ask_storage_reads, "needed for read faults on storage")
        .def_readwrite("ask_memory_io", &PyRigOptions::ask_memory_io, "needed for faults on the rmtfs_mem device");

    py::class_<sim::BootResult>(m, "BootResult")
        .def_readonly("ok", &sim::BootResult::ok)
        .def_readonly("reason", &sim::BootResult::reason)
        .def("__repr__", [](const sim::BootResult& b) { return b.ok ? "<boot ok>" : "<boot failed: " + b.reason + ">"; });

    py::class_<engine::WriteResult>(m, "WriteResult")
        .def_property_readonly("outcome", [](const engine::WriteResult& w) { return std::string(sim::to_string(w.outcome)); })
        .def_readonly("detail", &engine::WriteResult::detail)
        .def("__repr__", [](const engine::WriteResult& w) {
            return "<write " + std::string(sim::to_string(w.outcome)) + ": " + w.detail + ">";
        });

    py::class_<engine::ReadResult>(m, "ReadResult")
        .def_readonly("ok", &engine::ReadResult::ok)
        .def_property_readonly("data", [](const engine::ReadResult& r) {
            return py::bytes(reinterpret_cast<const char*>(r.data.data()), r.data.size());
        })
        .def_readonly("detail", &engine::ReadResult::detail, "why it failed, or a ledger violation of a successful read");

    py::class_<PyAnswer>(m, "Answer", "The answer to one modem request (or why none came).")
        .def_readonly("answered", &PyAnswer::answered, "an answer came (it may still be a failure: see result)")
        .def_property_readonly("ok", &PyAnswer::ok, "answered with result 0")
        .def_readonly("message", &PyAnswer::message, "what answered: 'OPEN response', ...")
        .def_readonly("result", &PyAnswer::result, "0 success, 1 failure; None without an answer")
        .def_readonly("error", &PyAnswer::error)
        .def_readonly("caller_id", &PyAnswer::caller_id, "OPEN: the handle")
        .def_readonly("address", &PyAnswer::address, "ALLOC_BUFF: the buffer's physical address")
        .def_readonly("status", &PyAnswer::status, "GET_DEV_ERROR: the device's error status")
        .def_readonly("failure", &PyAnswer::failure, "without an answer: timeout, service_gone, no_service, bad_response, wrong_response")
        .def_readonly("detail", &PyAnswer::detail)
        .def("__repr__", [](const PyAnswer& a) { return "<" + (a.answered ? a.detail : "no answer: " + a.failure) + ">"; });

    py::class_<PyModem>(m, "Modem", "One simulated modem of a rig: one method per RMTFS request, each answered "
                                    "(or not) before it returns. Partitions by name ('/boot/modem_fs1') or index.")
        .def_property_readonly("index", [](const PyModem& s) { return s.index; })
        .def_property_readonly("partitions", [](const PyModem& s) { return s.modem().config().partitions; })
        .def_property_readonly("caller_ids", [](const PyModem& s) { return s.modem().caller_ids(); },
                               "the handle of each partition it holds, None where it holds none")
        .def("open", [](const PyModem& s, const py::object& path) {
            if (!py::isinstance<py::str>(path)) throw py::type_error("path must be a str, not " + type_name(path));
            return s.request(rmtfs::OpenRequest{path.cast<std::string>()});
        }, py::arg("path"), "OPEN: the answer's caller_id is the handle")
        .def("close", [](const PyModem& s, const py::object& caller_id) {
            return s.request(rmtfs::CloseRequest{static_cast<std::uint32_t>(whole_number(caller_id, "caller_id", UINT32_MAX))});
        }, py::arg("caller_id"))
        .def("alloc_buff", [](const PyModem& s, const py::object& caller_id, const py::object& size) {
            rmtfs::AllocBuffRequest request;
            request.caller_id = static_cast<std::uint32_t>(whole_number(caller_id, "caller_id", UINT32_MAX));
            request.buff_size = static_cast<std::uint32_t>(whole_number(size, "size", UINT32_MAX));
            return s.request(request);
        }, py::arg("caller_id"), py::arg("size"), "ALLOC_BUFF: the answer's address is the buffer")
        .def("get_dev_error", [](const PyModem& s, const py::object& caller_id) {
            return s.request(rmtfs::GetDevErrorRequest{static_cast<std::uint32_t>(whole_number(caller_id, "caller_id", UINT32_MAX))});
        }, py::arg("caller_id"))
        .def("raw", [](const PyModem& s, const py::object& qmi) {
            Bytes bytes = bytes_of(qmi, "qmi");
            (void)s.modem();
            std::optional<sim::Response> response;
            {
                py::gil_scoped_release release;
                response = s.rig->rig().request_raw(s.index, bytes);
            }
            return answer_of(response);
        }, py::arg("qmi"), "hand-built QMI bytes (header and TLVs) from the modem's port")
        .def("write", &PyModem::write, py::arg("partition"), py::arg("sector"), py::arg("data"),
             "RW_IOVEC write through the modem's buffer, judged by the ledger")
        .def("read", &PyModem::read, py::arg("partition"), py::arg("sector"), py::arg("count"),
             "RW_IOVEC read through the modem's buffer")
        .def("__repr__", [](const PyModem& s) { return "<modem " + std::to_string(s.index) + ">"; });

    py::class_<PyRig>(m, "Rig")
        .def(py::init<const PyRigOptions&>(), py::arg("options") = PyRigOptions{})
        .def("close", &PyRig::close, "stop everything (the daemon is killed, the sandbox removed)")
        .def("__enter__", [](PyRig& self) -> PyRig& { return self; }, py::return_value_policy::reference)
        .def("__exit__", [](PyRig& self, py::args) { self.close(); })
        .def_property_readonly("storage_dir", [](PyRig& s) { return s.rig().storage_dir().string(); })
        // the daemon
        .def("start_daemon", [](PyRig& s) {
            auto started = s.rig().start_daemon();
            if (!started) throw std::runtime_error(started.error());
            return *started;
        }, py::call_guard<py::gil_scoped_release>())
        .def("wait_for_service", [](PyRig& s, int timeout_ms) { return s.rig().wait_for_service(ms(timeout_ms)); },
             py::arg("timeout_ms") = engine::default_service_wait.count(), py::call_guard<py::gil_scoped_release>())
        .def("service_published", [](PyRig& s) { return s.rig().service_published(); })
        .def("signal_daemon", [](PyRig& s, int signal_number) { s.rig().signal_daemon(signal_number); },
             py::arg("signal_number"))
        .def("wait_for_daemon_exit", [](PyRig& s, int timeout_ms) -> std::optional<std::string> {
            auto exit = s.rig().wait_for_daemon_exit(ms(timeout_ms));
            if (!exit) return std::nullopt;
            return exit->describe();
        }, py::arg("timeout_ms") = engine::default_exit_wait.count(), py::call_guard<py::gil_scoped_release>(),
           "how the daemon ended ('exited 0', 'killed by SIGKILL'), None if it did not")
        .def("restart_daemon", [](PyRig& s, std::optional<std::string> binary) {
            auto restarted = s.rig().restart_daemon(binary);
            if (!restarted) throw std::runtime_error(restarted.error());
            return *restarted;
        }, py::arg("binary") = py::none(), py::call_guard<py::gil_scoped_release>())
        .def_property_readonly("daemon_running", [](PyRig& s) { return s.rig().daemon_running(); })
        .def_property_readonly("daemon_starts", [](PyRig& s) { return s.rig().daemon_starts(); })
        .def_property_readonly("daemon_log", [](PyRig& s) { return s.rig().daemon_log(); })
        // modems
        .def("start_modem", [](PyRig& s, std::size_t index) { s.rig().start_modem(index); }, py::arg("index") = 0)
        .def("boot_modem", [](PyRig& s, std::size_t index, int timeout_ms) { return s.rig().boot_modem(index, ms(timeout_ms)); },
             py::arg("index") = 0, py::arg("timeout_ms") = engine::default_boot_wait.count(), py::call_guard<py::gil_scoped_release>())
        .def("wait_for_boot", [](PyRig& s, std::size_t index, int timeout_ms, unsigned nth) {
            return s.rig().wait_for_boot(index, ms(timeout_ms), nth);
        }, py::arg("index") = 0, py::arg("timeout_ms") = engine::default_boot_wait.count(), py::arg("nth") = 0, py::call_guard<py::gil_scoped_release>())
        .def("stop_modem", [](PyRig& s, std::size_t index) { s.rig().stop_modem(index); }, py::arg("index") = 0)
        .def("modem_state", [](PyRig& s, std::size_t index) { return std::string(sim::to_string(s.rig().modem_state(index))); },
             py::arg("index") = 0)
        .def("remoteproc_state", [](PyRig& s, std::size_t index) {
            return std::string(sim::to_string(s.rig().remoteproc(index).state()));
        }, py::arg("index") = 0)
        .def("modem_crashes", [](PyRig& s, std::size_t index) { return s.rig().modem_crashes(index); }, py::arg("index") = 0)
        .def("modem_boots", [](PyRig& s, std::size_t index) { return s.rig().modem_boots(index); }, py::arg("index") = 0)
        .def("write", [](PyRig& s, const py::object& partition, const py::object& sector, const py::object& data,
                         const py::object& modem) { return modem_of(s, modem).write(partition, sector, data); },
             py::arg("partition"), py::arg("sector"), py::arg("data"), py::arg("modem") = 0,
             "as rig.modem(modem).write(...)")
        .def("read", [](PyRig& s, const py::object& partition, const py::object& sector, const py::object& count,
                        const py::object& modem) { return modem_of(s, modem).read(partition, sector, count); },
             py::arg("partition"), py::arg("sector"), py::arg("count"), py::arg("modem") = 0,
             "as rig.modem(modem).read(...)")
        .def("run_for", [](PyRig& s, int duration_ms) { s.rig().run_for(ms(duration_ms)); }, py::arg("duration_ms"), py::call_guard<py::gil_scoped_release>())
        // faults
        .def("fault_at_request", [](PyRig& s, py::object message, unsigned nth, const std::string& action) {
            auto a = value_named<server::ProcessAction>("action", action);
            return s.rig().process_faults().arm(server::AtRequest{message_id_of(message), nth, std::nullopt}, a);
        }, py::arg("message"), py::arg("nth"), py::arg("action"),
             "act when the nth request of this type reaches the daemon (before it reads it)")
        .def("fault_after_write", [](PyRig& s, unsigned nth, const std::string& action, const std::string& file) {
            auto a = value_named<server::ProcessAction>("action", action);
            return s.rig().process_faults().arm(server::AfterWrite{nth, file}, a);
        }, py::arg("nth"), py::arg("action"), py::arg("file") = "",
             "act after the daemon's nth sector write to storage, inside that write")
        .def("fault_after_delay", [](PyRig& s, int delay_ms, const std::string& action) {
            auto a = value_named<server::ProcessAction>("action", action);
            return s.rig().process_faults().arm(server::AfterDelay{ms(delay_ms)}, a);
        }, py::arg("delay_ms"), py::arg("action"))
        .def("fault_fired", [](PyRig& s, std::size_t index) { return s.rig().process_faults().fired(index); },
             py::arg("index"))
        .def("io_fault", [](PyRig& s, const std::string& call, py::object error, const std::string& target,
                            const std::string& file, unsigned nth, unsigned times, std::optional<std::uint32_t> short_bytes) {
            server::IoFault fault;
            fault.call = value_named<server::IoCall>("call", call);
            fault.target = value_named<server::IoTarget>("target", target);
            fault.file = file;
            fault.nth = nth;
            fault.times = times;
            fault.error = error.is_none() ? 0 : errno_of(error);
            fault.short_bytes = short_bytes;
            if (fault.error == 0 && !fault.short_bytes) bad("an I/O fault needs an error or short_bytes");
            if (auto never = s.rig().storage().never_fires(fault)) bad("this I/O fault could never fire: " + *never);
            return s.rig().storage().arm(fault);
        }, py::arg("call"), py::arg("error") = py::none(), py::arg("target") = name_of(server::IoFault{}.target), py::arg("file") = "",
             py::arg("nth") = 1, py::arg("times") = 1, py::arg("short_bytes") = py::none())
        .def("io_fault_hits", [](PyRig& s, std::size_t index) { return s.rig().storage().fault_hits(index); },
             py::arg("index"))
        .def("lose_power", [](PyRig& s) {
            auto reverted = [&] {
                py::gil_scoped_release release;
                return s.rig().lose_power();
            }();
            if (!reverted) throw std::runtime_error(reverted.error());
            py::list ranges;
            for (const auto& r : *reverted) ranges.append(py::make_tuple(r.file, r.offset, r.length));
            return ranges;
        }, "the daemon dies, unsynced storage writes are lost, the modems lose power; returns (file, offset, length)s")
        .def("network_reset", [](PyRig& s) { s.rig().network_reset(); }, "ENETRESET on every bound socket")
        .def("start_name_service", [](PyRig& s, const std::string& binary) {
            auto started = s.rig().start_name_service(binary);
            if (!started) throw std::runtime_error(started.error());
            return *started;
        }, py::arg("binary") = "qrtr-ns", "the userspace name service (needs kernel_name_service off)")
        .def("stop_name_service", [](PyRig& s) { s.rig().stop_name_service(); })
        .def_property_readonly("unsynced_bytes", [](PyRig& s) { return s.rig().storage().unsynced_bytes(); })
        .def_property_readonly("storage_writes", [](PyRig& s) { return s.rig().storage().storage_writes(); })
        // checks and evidence
        .def("check_storage", [](PyRig& s) {
            std::vector<std::string> found;
            for (const auto& v : s.rig().check_storage()) found.push_back(v.describe());
            return found;
        }, "ledger violations on storage, each described; empty when every write is accounted for")
        .def("ledger_count", [](PyRig& s, const std::string& outcome) {
            return s.rig().ledger().count(value_named<sim::WriteOutcome>("outcome", outcome));
        }, py::arg("outcome"))
        .def("storage_file", [](PyRig& s, const std::string& name) {
            Bytes bytes = s.rig().storage_file(name);
            return py::bytes(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        }, py::arg("name"))
        .def("events", [](PyRig& s) {
            const py::object loads = py::module_::import("json").attr("loads");
            py::list events;
            for (const auto& e : s.rig().events())
                events.append(loads(engine::trace_event_json(e)));
            return events;
        }, "the trace so far: one dict per event, as the JSON report writes it (at_ms, source, kind, detail and "
           "the event's fields: packet, exit, pid, fault, io_fault, file, sector, state)")
        .def("trace_text", [](PyRig& s, std::size_t last) { return s.rig().trace_text(last); }, py::arg("last") = 0)
        .def("modem", &modem_of, py::arg("index") = 0, py::keep_alive<0, 1>(), "the modem's requests, one method each (Modem)");

    // ---- scenarios, as `rmtfs-hil run` runs them
    static py::exception<ScenarioFileError> scenario_error(m, "ScenarioError", PyExc_ValueError);
    scenario_error.doc() = "A scenario file (or dict) that does not load: each line file:line:col: /pointer: message.";
    py::register_exception_translator([](std::exception_ptr p) {
        try {
            if (p) std::rethrow_exception(p);
        } catch (const ScenarioFileError& e) {
            scenario_error(e.what());
        }
    });

    py::class_<engine::StepResult>(m, "StepResult", "How one step of a scenario ended.")
        .def_readonly("index", &engine::StepResult::index, "0-based")
        .def_readonly("kind", &engine::StepResult::kind, "the step's action: boot, write, expect, ...")
        .def_property_readonly("status", [](const engine::StepResult& s) { return std::string(name_of(s.status)); },
                               "passed, failed, error or skipped")
        .def_readonly("message", &engine::StepResult::message)
        .def_readonly("where", &engine::StepResult::where, "file:line:col of the step")
        .def_readonly("started_ms", &engine::StepResult::started_ms)
        .def_readonly("ended_ms", &engine::StepResult::ended_ms)
        .def("__repr__", [](const engine::StepResult& s) {
            return "<step " + std::to_string(s.index + 1) + " " + s.kind + " " + std::string(name_of(s.status)) + ">";
        });

    py::class_<engine::ScenarioResult>(m, "ScenarioResult", "A scenario's verdict and the evidence for it.")
        .def_readonly("name", &engine::ScenarioResult::name)
        .def_readonly("description", &engine::ScenarioResult::description)
        .def_readonly("file", &engine::ScenarioResult::file)
        .def_readonly("tags", &engine::ScenarioResult::tags)
        .def_property_readonly("verdict", [](const engine::ScenarioResult& r) { return std::string(name_of(r.verdict)); },
                               "pass, fail, error or skip")
        .def_readonly("reason", &engine::ScenarioResult::reason, "why (empty for pass)")
        .def_readonly("known_issue", &engine::ScenarioResult::known_issue, "the scenario's known_issue text, if any")
        .def_property_readonly("known_status",
                               [](const engine::ScenarioResult& r) { return std::string(name_of(r.known_status)); },
                               "known (fails as its known issue says), fixed (passes now), new (fails otherwise), or ''")
        .def_readonly("duration_ms", &engine::ScenarioResult::duration_ms)
        .def_readonly("seed", &engine::ScenarioResult::seed)
        .def_readonly("steps", &engine::ScenarioResult::steps)
        .def_property_readonly("failed_step", [](const engine::ScenarioResult& r) -> std::optional<engine::StepResult> {
            for (const auto& s : r.steps)
                if (s.status == engine::StepStatus::failed || s.status == engine::StepStatus::error) return s;
            return std::nullopt;
        }, "the step that failed or errored, or None")
        .def_property_readonly("trace", [](const engine::ScenarioResult& r) {
            const py::object loads = py::module_::import("json").attr("loads");
            py::list events;
            for (const auto& e : r.trace) events.append(loads(engine::trace_event_json(e)));
            return events;
        }, "the world's trace: one dict per event (at_ms, source, kind, detail and the event's fields)")
        .def_readonly("daemon_log", &engine::ScenarioResult::daemon_log)
        .def_readonly("ledger_verdict", &engine::ScenarioResult::ledger_verdict)
        .def_readonly("ledger_violations", &engine::ScenarioResult::ledger_violations)
        .def_readonly("reproduce", &engine::ScenarioResult::reproduce, "the command that reruns it")
        .def("to_dict", [](const engine::ScenarioResult& r) { return json_value(engine::scenario_json_line(r)); },
             "as the JSON report writes it")
        .def("__repr__", [](const engine::ScenarioResult& r) {
            return "<" + r.name + ": " + std::string(name_of(r.verdict)) + ">";
        });

    m.def("load_scenario", [](const py::object& scenario) {
        engine::Scenario s = load(scenario);
        py::dict info;
        info["name"] = s.name;
        info["description"] = s.description;
        info["tags"] = s.tags;
        info["known_issue"] = s.known_issue ? py::object(py::str(s.known_issue->text)) : py::object(py::none());
        info["file"] = s.where.file;
        return info;
    }, py::arg("scenario"),
          "Loads and checks a scenario (a path or a dict) without running it: its name, description, tags, "
          "known_issue and file. Raises ScenarioError with every error's file:line:col.");

    m.def("run_scenario", [](const py::object& scenario, const std::optional<std::string>& server,
                             std::optional<std::uint64_t> seed, const std::optional<std::string>& board) {
        engine::Scenario s = load(scenario);
        engine::RunOptions options;
        options.server = server_of(server);
        options.seed = seed;
        if (board) {
            auto profile = server::resolve_board(*board);
            if (!profile) bad("board: " + profile.error());
            options.board = *profile;
        }
        options.reproduce_prefix = "rmtfs-hil run --server " + options.server;
        // Ctrl-C reaches Python between the run's waits; the GIL is held only to ask.
        bool interrupted = false;
        options.interrupted.requested = [&interrupted] {
            py::gil_scoped_acquire acquire;
            if (PyErr_CheckSignals() != 0) {
                PyErr_Clear();
                interrupted = true;
            }
            return interrupted;
        };
        engine::ScenarioResult result;
        {
            py::gil_scoped_release release;
            result = engine::run_scenario(s, options);
        }
        if (interrupted) {
            PyErr_SetNone(PyExc_KeyboardInterrupt);
            throw py::error_already_set();
        }
        return result;
    }, py::arg("scenario"), py::kw_only(), py::arg("server") = py::none(), py::arg("seed") = py::none(),
          py::arg("board") = py::none(),
          "Runs a scenario (a path or a dict) in the simulated world against the real daemon, as `rmtfs-hil run` "
          "does, and returns its ScenarioResult. server: the daemon (default $RMTFS_HIL_SERVER, else "
          "/usr/bin/rmtfs); seed: overrides the scenario's; board: a built-in profile's name or a board file. "
          "The GIL is released while it runs.");

    m.attr("SIGKILL") = SIGKILL;
    m.attr("SIGTERM") = SIGTERM;
    m.attr("SIGSTOP") = SIGSTOP;
    m.attr("SIGCONT") = SIGCONT;
}
