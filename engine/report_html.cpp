// The HTML report: one self-contained page (inline CSS, a little inline JS,
// inline SVG; nothing fetched), readable without JS. Everything that comes
// from a scenario or the daemon goes through escape_xml.
#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include "engine/report.hpp"
#include "engine/report_format.hpp"
#include "proto/qrtr_packet.hpp"

namespace rmtfs_hil::engine {

using namespace report_detail;

namespace {

std::string esc(std::string_view text) { return escape_xml(text); }
std::string attr(std::string_view text) { return escape_xml_attribute(text); }

// ---- the timeline ----------------------------------------------------------------------

enum LaneIndex : int { lane_modem = 0, lane_daemon, lane_ns, lane_remoteproc, lane_harness, lane_count };

struct LaneInfo {
    const char* id;
    const char* label;
    const char* colour;
};
constexpr std::array<LaneInfo, lane_count> lanes = {{
    {"modem", "modem", "#059669"},
    {"daemon", "rmtfs (daemon)", "#2563eb"},
    {"ns", "name service", "#7c3aed"},
    {"remoteproc", "remoteproc", "#d97706"},
    {"harness", "harness / faults", "#b91c1c"},
}};

constexpr const char* fault_red = "#dc2626";
constexpr const char* fault_band = "#fde2e2";

// Geometry.
constexpr int time_column = 78;   // time labels end here
constexpr int lane_width = 118;
constexpr int header_height = 34;
constexpr int row_height = 14;
constexpr int footer_height = 40;
constexpr int detail_x = time_column + lane_width * lane_count + 14;
constexpr int svg_width = 1260;
constexpr std::size_t detail_chars = 84;  // the whole event column, monospace at 11px

constexpr int lane_x(int lane) { return time_column + lane_width * lane + lane_width / 2; }

using sim::TraceKind;
using sim::TraceSource;

bool is_fault(const TraceEntry& e) { return sim::is_fault(e.source, e.kind); }

bool any_of(TraceKind kind, std::initializer_list<TraceKind> kinds) {
    return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

bool is_name_service(const TraceEntry& e) {
    return e.source == TraceSource::ns || e.source == TraceSource::name_service ||
           any_of(e.kind, {TraceKind::new_server, TraceKind::del_server});
}

// The modem's link and node coming and going: the modem's side of the fabric.
bool is_link_state(const TraceEntry& e) {
    return e.source == TraceSource::fabric && any_of(e.kind, {TraceKind::link_up, TraceKind::link_down, TraceKind::node});
}

// A state change, drawn larger and never elided.
bool is_state_change(const TraceEntry& e) {
    switch (e.source) {
        case TraceSource::harness: return true;
        case TraceSource::modem:
            return any_of(e.kind, {TraceKind::state, TraceKind::modem_state, TraceKind::crashed, TraceKind::booted,
                                   TraceKind::boot_failed, TraceKind::recovered, TraceKind::service_lost,
                                   TraceKind::server_up, TraceKind::server_down, TraceKind::open_skipped});
        case TraceSource::server:
            return any_of(e.kind, {TraceKind::started, TraceKind::ended, TraceKind::stopped, TraceKind::continued,
                                   TraceKind::gave_up, TraceKind::start_failed, TraceKind::io_fault, TraceKind::memory_open,
                                   TraceKind::memory_close, TraceKind::past_end});
        case TraceSource::remoteproc: return e.kind != TraceKind::open;
        case TraceSource::ns:
        case TraceSource::name_service:
            return any_of(e.kind, {TraceKind::new_server, TraceKind::del_server, TraceKind::started, TraceKind::ended,
                                   TraceKind::hello, TraceKind::bye});
        case TraceSource::fabric: return is_link_state(e) || is_name_service(e);
    }
    return false;
}

// Bad news in its lane: drawn with a red ring.
bool is_bad_state(const TraceEntry& e) {
    return any_of(e.kind, {TraceKind::crashed, TraceKind::boot_failed, TraceKind::ended, TraceKind::gave_up,
                           TraceKind::start_failed, TraceKind::service_lost, TraceKind::server_down, TraceKind::del_server,
                           TraceKind::error, TraceKind::link_down, TraceKind::bye});
}

bool is_packet_event(const TraceEntry& e) {
    return e.source == TraceSource::fabric && e.fields.packet &&
           any_of(e.kind, {TraceKind::deliver, TraceKind::link_tx, TraceKind::link_rx});
}

// Lanes by QRTR address: the local node (the daemon's, where packets are
// delivered) holds the daemon and, at its control port, the name service;
// any other node is a modem.
struct Lanes {
    std::uint32_t local_node = 1;

    explicit Lanes(const std::vector<TraceEntry>& trace) {
        for (const TraceEntry& e : trace)
            if (e.kind == TraceKind::deliver && e.fields.packet) {
                local_node = e.fields.packet->to_node;
                break;
            }
    }

    int of_address(std::uint32_t node, std::uint32_t port) const {
        if (node != local_node && node != qrtr::node_broadcast) return lane_modem;
        if (port == qrtr::port_control) return lane_ns;
        return lane_daemon;
    }

    int of(const TraceEntry& e) const {
        if (is_fault(e)) return lane_harness;
        if (e.source == TraceSource::modem) return lane_modem;
        if (is_name_service(e)) return lane_ns;
        if (e.source == TraceSource::server) return lane_daemon;
        if (e.source == TraceSource::remoteproc) return lane_remoteproc;
        if (is_link_state(e)) return lane_modem;
        if (e.source == TraceSource::fabric) {
            // A packet's sender says whose it is; sockets are the local processes'.
            if (const auto& p = e.fields.packet) return of_address(p->from_node, p->from_port);
            return lane_daemon;
        }
        return lane_harness;
    }

    // Where a packet's ends are drawn. A packet received from the link is for
    // this node even when broadcast: its destination is local.
    std::pair<int, int> ends(const TraceEntry& e) const {
        const sim::TracePacket& p = *e.fields.packet;
        std::uint32_t to_node = e.kind == TraceKind::link_rx && p.to_node == qrtr::node_broadcast ? local_node : p.to_node;
        return {of_address(p.from_node, p.from_port), of_address(to_node, p.to_port)};
    }
};

struct Arrow {
    int from = 0, to = 0;
    std::string label;
    bool data = true;
};

std::optional<Arrow> arrow_of(const TraceEntry& e, const Lanes& by_address) {
    if (!is_packet_event(e)) return std::nullopt;
    const sim::TracePacket& p = *e.fields.packet;
    Arrow a;
    std::tie(a.from, a.to) = by_address.ends(e);
    if (a.from == a.to) return std::nullopt;
    a.data = p.type == "DATA";
    a.label = !p.message.empty() ? p.message + (p.qmi == "request" ? "" : " " + p.qmi) : p.type;
    a.label += " " + std::to_string(p.bytes) + "B";
    return a;
}

// A link_rx followed closely by the delivery of the same packet: one arrow, the delivery's.
bool merged_into_delivery(const std::vector<TraceEntry>& trace, std::size_t i, const Lanes& by_address) {
    const TraceEntry& e = trace[i];
    if (e.kind != TraceKind::link_rx || !is_packet_event(e)) return false;
    const sim::TracePacket& p = *e.fields.packet;
    for (std::size_t k = i + 1; k < trace.size() && k <= i + 4; ++k) {
        const TraceEntry& next = trace[k];
        if (next.kind != TraceKind::deliver || !is_packet_event(next)) continue;
        const sim::TracePacket& q = *next.fields.packet;
        if (q.from_node == p.from_node && q.from_port == p.from_port && q.type == p.type &&
            by_address.ends(next).second == by_address.ends(e).second)
            return true;
    }
    return false;
}

struct Row {
    std::optional<std::size_t> entry;  // index in the trace; empty: an elision marker
    std::size_t elided = 0;
};

struct Layout {
    std::vector<Row> rows;
    std::size_t drawn = 0, elided = 0, merged = 0;
};

Layout lay_out(const std::vector<TraceEntry>& trace, const Lanes& by_address) {
    Layout layout;
    std::vector<std::size_t> candidates;
    for (std::size_t i = 0; i < trace.size(); ++i) {
        if (merged_into_delivery(trace, i, by_address)) ++layout.merged;
        else candidates.push_back(i);
    }
    std::size_t pending = 0;
    for (std::size_t n = 0; n < candidates.size(); ++n) {
        const TraceEntry& e = trace[candidates[n]];
        if (n < timeline_event_cap || is_fault(e) || is_state_change(e)) {
            if (pending) layout.rows.push_back(Row{std::nullopt, pending});
            pending = 0;
            layout.rows.push_back(Row{candidates[n], 0});
            ++layout.drawn;
        } else {
            ++pending;
            ++layout.elided;
        }
    }
    if (pending) layout.rows.push_back(Row{std::nullopt, pending});
    return layout;
}

std::string time_label(double ms) { return std::abs(ms) < 10000 ? fixed(ms, 1) : fixed(ms, 0); }

void arrow_markers(std::ostream& out, std::string_view id) {
    const std::array<std::pair<const char*, const char*>, 4> markers = {{
        {"in", "#0e7490"}, {"out", "#1d4ed8"}, {"ns", "#7c3aed"}, {"ctl", "#6b7280"}}};
    out << "<defs>";
    for (const auto& [name, colour] : markers)
        out << "<marker id=\"" << id << "-" << name
            << "\" viewBox=\"0 0 8 8\" refX=\"7.5\" refY=\"4\" markerWidth=\"7\" markerHeight=\"7\" "
               "orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\""
            << colour << "\"/></marker>";
    out << "</defs>\n";
}

}  // namespace

// Longer than most: one pass over the events that places each row on the
// shared layout (lanes, row height, elision count) as it goes; split up, each
// part would need all of that state handed to it.
std::string render_timeline_svg(const ScenarioResult& scenario, std::string_view id_prefix) {
    const std::string id = attr(id_prefix);
    const auto& trace = scenario.trace;
    const Lanes by_address(trace);
    const Layout layout = lay_out(trace, by_address);
    const int body_height = static_cast<int>(std::max<std::size_t>(layout.rows.size(), 1)) * row_height;
    const int height = header_height + body_height + footer_height;
    const int lanes_left = time_column;
    const int lanes_right = time_column + lane_width * lane_count;

    std::ostringstream out;
    out << "<svg class=\"timeline\" id=\"" << id << "\" role=\"img\" width=\"" << svg_width << "\" height=\"" << height
        << "\" viewBox=\"0 0 " << svg_width << " " << height
        << "\" font-family=\"ui-monospace, Menlo, Consolas, 'DejaVu Sans Mono', monospace\" font-size=\"11\">\n";
    out << "<title>Sequence diagram of " << esc(scenario.name) << ": " << trace.size() << " trace events</title>\n";
    arrow_markers(out, id);
    out << "<rect class=\"bg\" x=\"0\" y=\"0\" width=\"" << svg_width << "\" height=\"" << height
        << "\" fill=\"#ffffff\"/>\n";

    // Lanes: a labelled header and a line down the whole diagram.
    const int lanes_bottom = header_height + body_height;
    for (int l = 0; l < lane_count; ++l) {
        const auto& lane = lanes[static_cast<std::size_t>(l)];
        const int x = lane_x(l);
        out << "<g class=\"lane\" data-lane=\"" << lane.id << "\">"
            << "<rect x=\"" << x - lane_width / 2 + 4 << "\" y=\"4\" width=\"" << lane_width - 8
            << "\" height=\"22\" rx=\"4\" fill=\"" << lane.colour << "\"/>"
            << "<text x=\"" << x << "\" y=\"19\" text-anchor=\"middle\" fill=\"#ffffff\" font-weight=\"bold\">"
            << lane.label << "</text>"
            << "<line x1=\"" << x << "\" y1=\"28\" x2=\"" << x << "\" y2=\"" << lanes_bottom << "\" stroke=\""
            << lane.colour << "\" stroke-opacity=\"0.45\" stroke-dasharray=\"4 3\"/></g>\n";
    }
    out << "<text x=\"" << time_column - 6 << "\" y=\"19\" text-anchor=\"end\" fill=\"#6b7280\">t ms</text>"
        << "<text x=\"" << detail_x << "\" y=\"19\" fill=\"#6b7280\">event</text>\n";

    if (trace.empty())
        out << "<text x=\"" << lane_x(lane_ns) << "\" y=\"" << header_height + 11
            << "\" text-anchor=\"middle\" fill=\"#6b7280\">(no trace events)</text>\n";

    std::string last_time;
    for (std::size_t r = 0; r < layout.rows.size(); ++r) {
        const Row& row = layout.rows[r];
        const int top = header_height + static_cast<int>(r) * row_height;
        const int y = top + row_height / 2;
        if (!row.entry) {
            out << "<g class=\"elided\"><line x1=\"" << lanes_left << "\" y1=\"" << y << "\" x2=\"" << svg_width - 10
                << "\" y2=\"" << y << "\" stroke=\"#9ca3af\" stroke-dasharray=\"1 3\"/>"
                << "<text x=\"" << detail_x << "\" y=\"" << y + 4
                << "\" fill=\"#6b7280\" font-style=\"italic\" stroke=\"#ffffff\" stroke-width=\"3\" "
                   "paint-order=\"stroke\">\u22ef "
                << row.elided << " events elided \u22ef</text></g>\n";
            last_time.clear();
            continue;
        }
        const TraceEntry& e = trace[*row.entry];
        const bool fault = is_fault(e);
        const bool state = is_state_change(e);
        const auto arrow = arrow_of(e, by_address);
        std::string cls = "ev";
        if (fault) cls += " fault";
        else if (state) cls += " state";
        if (arrow) cls += " packet";
        out << "<g class=\"" << cls << "\" data-source=\"" << name_of(e.source) << "\" data-kind=\"" << name_of(e.kind)
            << "\"><title>" << esc(fixed(e.at_ms, 3)) << " ms " << name_of(e.source) << "/" << name_of(e.kind) << ": "
            << esc(e.detail) << "</title>";
        // The row, for hovering (and the fault's band across everything).
        if (fault)
            out << "<rect class=\"fault-band\" x=\"0\" y=\"" << top << "\" width=\"" << svg_width << "\" height=\""
                << row_height << "\" fill=\"" << fault_band << "\"/>"
                << "<rect x=\"0\" y=\"" << top << "\" width=\"5\" height=\"" << row_height << "\" fill=\"" << fault_red
                << "\"/>"
                << "<line class=\"fault-line\" x1=\"" << lanes_left + 8 << "\" y1=\"" << y << "\" x2=\""
                << lanes_right - 8 << "\" y2=\"" << y << "\" stroke=\"" << fault_red << "\" stroke-width=\"2\"/>";
        else
            out << "<rect class=\"hit\" x=\"0\" y=\"" << top << "\" width=\"" << svg_width << "\" height=\""
                << row_height << "\" fill=\"transparent\"/>";

        const std::string time = time_label(e.at_ms);
        if (time != last_time || fault)
            out << "<text x=\"" << time_column - 6 << "\" y=\"" << y + 4 << "\" text-anchor=\"end\" fill=\""
                << (fault ? fault_red : "#6b7280") << "\" font-size=\"10\">" << time << "</text>";
        last_time = time;

        if (arrow) {
            const char* marker = "ctl";
            const char* colour = "#6b7280";
            if (arrow->data) {
                if (arrow->from == lane_modem) marker = "in", colour = "#0e7490";
                else if (arrow->to == lane_modem) marker = "out", colour = "#1d4ed8";
                else marker = "ns", colour = "#7c3aed";
            }
            const int x1 = lane_x(arrow->from);
            const int x2 = lane_x(arrow->to);
            const int inset = x2 > x1 ? 3 : -3;
            out << "<circle cx=\"" << x1 << "\" cy=\"" << y << "\" r=\"2\" fill=\"" << colour << "\"/>"
                << "<line class=\"arrow\" x1=\"" << x1 << "\" y1=\"" << y << "\" x2=\"" << x2 - inset << "\" y2=\"" << y
                << "\" stroke=\"" << colour << "\" stroke-width=\"1.5\""
                << (arrow->data ? "" : " stroke-dasharray=\"4 2\"") << " marker-end=\"url(#" << id << "-" << marker
                << ")\"/>"
                << "<text x=\"" << (x1 + x2) / 2 << "\" y=\"" << y - 2
                << "\" text-anchor=\"middle\" font-size=\"8.5\" fill=\"" << colour
                << "\" stroke=\"#ffffff\" stroke-width=\"2.5\" paint-order=\"stroke\">" << esc(arrow->label)
                << "</text>";
        } else {
            const int lane = by_address.of(e);
            const int x = lane_x(lane);
            const char* colour = lanes[static_cast<std::size_t>(lane)].colour;
            if (fault) {
                out << "<polygon class=\"fault-mark\" points=\"" << x << "," << y - 7 << " " << x + 7 << "," << y << " "
                    << x << "," << y + 7 << " " << x - 7 << "," << y << "\" fill=\"" << fault_red
                    << "\" stroke=\"#7f1d1d\"/>";
            } else if (e.kind == TraceKind::drop) {
                out << "<path class=\"drop\" d=\"M" << x - 4 << "," << y - 4 << " L" << x + 4 << "," << y + 4 << " M"
                    << x + 4 << "," << y - 4 << " L" << x - 4 << "," << y + 4
                    << "\" stroke=\"#ea580c\" stroke-width=\"2.2\"/>";
            } else if (state) {
                out << "<circle cx=\"" << x << "\" cy=\"" << y << "\" r=\"5\" fill=\"" << colour << "\" stroke=\""
                    << (is_bad_state(e) ? fault_red : "#ffffff") << "\" stroke-width=\"" << (is_bad_state(e) ? 2.5 : 1.5)
                    << "\"/>";
            } else if (e.source == TraceSource::server && e.kind == TraceKind::log) {
                out << "<rect x=\"" << x - 2 << "\" y=\"" << y - 2 << "\" width=\"4\" height=\"4\" fill=\"#64748b\"/>";
            } else {
                out << "<circle cx=\"" << x << "\" cy=\"" << y << "\" r=\"3\" fill=\"" << colour << "\"/>";
            }
        }

        const std::string prefix = truncate(std::string(name_of(e.source)) + "/" + std::string(name_of(e.kind)), 24);
        const std::string text_colour = fault ? fault_red : (state ? "#111827" : "#374151");
        out << "<text x=\"" << detail_x << "\" y=\"" << y + 4 << "\" fill=\"" << text_colour << "\""
            << (fault || state ? " font-weight=\"bold\"" : "") << "><tspan fill=\""
            << (fault ? fault_red : "#9ca3af") << "\">" << esc(prefix) << "</tspan> "
            << esc(truncate(sanitize_line(e.detail), detail_chars - std::min(display_width(prefix) + 1, detail_chars / 2)))
            << "</text>";
        out << "</g>\n";
    }

    const int footer_y = lanes_bottom + 16;
    out << "<text class=\"timeline-footer\" x=\"6\" y=\"" << footer_y << "\" fill=\"#4b5563\">" << layout.drawn << " of "
        << trace.size() << " trace events drawn";
    if (layout.elided)
        out << " (the first " << timeline_event_cap << ", then only faults and state changes): " << layout.elided
            << " elided";
    if (layout.merged) out << "; " << layout.merged << " link_rx drawn as their delivery";
    out << ".</text>\n";
    out << "<text x=\"6\" y=\"" << footer_y + 16
        << "\" fill=\"#6b7280\" font-size=\"10\">Time flows down; rows are events in order (not to scale). "
           "Red bands: injected faults. Dashed arrows: control packets.</text>\n";
    out << "</svg>\n";
    return out.str();
}

// ---- the page --------------------------------------------------------------------------

namespace {

constexpr const char* page_css = R"CSS(
:root{--pass:#15803d;--fail:#dc2626;--error:#9333ea;--skip:#6b7280;--known:#b45309;--fixed:#0369a1;--new:#be123c;
--ink:#111827;--muted:#6b7280;--line:#e5e7eb;--bg:#f8fafc}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:1320px;margin:0 auto;padding:16px 24px 48px}
h1{font-size:22px;margin:8px 0 4px}
h2{font-size:18px;margin:0 0 8px}
h3{font-size:14px;margin:16px 0 6px;text-transform:uppercase;letter-spacing:.04em;color:#374151}
a{color:#1d4ed8}
code,pre,.mono{font-family:ui-monospace,Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:12.5px}
pre{white-space:pre-wrap;word-break:break-word;margin:0}
.card{background:#fff;border:1px solid var(--line);border-radius:8px;padding:14px 18px;margin:14px 0}
.runinfo{display:grid;grid-template-columns:max-content minmax(0,1fr) max-content minmax(0,1fr);gap:2px 14px;margin:8px 0 0}
.runinfo dt{color:var(--muted)}
.runinfo dd{margin:0;word-break:break-all}
.runinfo dd.wide{grid-column:2/-1}
.banner{background:#fef3c7;border:1px solid #f59e0b;border-radius:6px;padding:8px 12px;margin:10px 0}
.overall{display:inline-block;margin-left:10px;padding:2px 10px;border-radius:999px;color:#fff;font-size:13px;vertical-align:middle}
.overall.ok{background:var(--pass)}.overall.bad{background:var(--fail)}
.counts{display:flex;flex-wrap:wrap;gap:10px;margin:6px 0 0}
.count{min-width:92px;padding:8px 12px;border-radius:8px;background:#f3f4f6;border-left:5px solid var(--muted)}
.count b{display:block;font-size:22px;line-height:1.1}
.count.pass{border-color:var(--pass)}.count.fail{border-color:var(--fail)}.count.error{border-color:var(--error)}
.count.skip{border-color:var(--skip)}.count.known{border-color:var(--known)}.count.fixed{border-color:var(--fixed)}
.count.new{border-color:var(--new)}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600;background:#f9fafb}
td.num{white-space:nowrap;text-align:right}
td.where{font-size:11.5px;color:#4b5563;white-space:nowrap}
table.steps td{padding:3px 8px}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:700;color:#fff;letter-spacing:.03em}
.badge.pass,.badge.passed{background:var(--pass)}.badge.fail,.badge.failed{background:var(--fail)}
.badge.error{background:var(--error)}.badge.skip,.badge.skipped{background:var(--skip)}
.ks{display:inline-block;padding:0 7px;border-radius:4px;font-size:12px;border:1px solid currentColor}
.ks.known{color:var(--known)}.ks.fixed{color:var(--fixed)}.ks.new{color:var(--new)}
.reason{color:#374151}
.scenario{border-left:6px solid var(--skip)}
.scenario.v-pass{border-left-color:var(--pass)}.scenario.v-fail{border-left-color:var(--fail)}
.scenario.v-error{border-left-color:var(--error)}
.desc{margin:4px 0 8px;color:#374151}
.meta{display:flex;flex-wrap:wrap;gap:4px 18px;color:var(--muted);font-size:13px;margin:4px 0}
.meta b{color:var(--ink);font-weight:600}
.why{background:#fef2f2;border:1px solid #fecaca;border-radius:6px;padding:8px 12px;margin:8px 0}
.known-issue{background:#fffbeb;border:1px solid #fde68a;border-radius:6px;padding:8px 12px;margin:8px 0}
.repro{display:flex;gap:8px;align-items:flex-start;background:#0f172a;color:#e2e8f0;border-radius:6px;padding:8px 12px}
.repro pre{flex:1;user-select:all}
button.copy{display:none;border:0;border-radius:4px;padding:2px 10px;background:#334155;color:#fff;cursor:pointer}
.js button.copy{display:inline-block}
.ledger{font-weight:600}.ledger.clean{color:var(--pass)}.ledger.violated{color:var(--fail)}
ul.violations{margin:4px 0;padding-left:22px;color:#991b1b}
.matrix td{white-space:nowrap}
.cell-up{color:var(--pass);font-weight:700}.cell-down{color:var(--fail);font-weight:700}
.lost{color:var(--fail);font-weight:700}
.tlwrap{overflow:auto;max-height:85vh;border:1px solid var(--line);border-radius:6px;background:#fff}
svg.timeline{display:block}
svg.timeline g.ev:hover rect.hit{fill:#eef2ff}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:12px;color:#374151;margin:0 0 6px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:4px;vertical-align:-1px}
details{margin:8px 0}
summary{cursor:pointer;font-weight:600;color:#374151}
pre.log{background:#f8fafc;border:1px solid var(--line);border-radius:6px;padding:8px;max-height:480px;overflow:auto;white-space:pre}
.filters{margin:0 0 8px;font-size:13px;color:var(--muted);display:none}
.js .filters{display:block}
.filters label{margin-right:12px}
tr.hidden{display:none}
.elided{color:var(--muted);font-style:italic}
footer{color:var(--muted);font-size:12px;margin-top:24px}
)CSS";

constexpr const char* page_js = R"JS(
(function () {
  document.documentElement.classList.add('js');
  document.querySelectorAll('button.copy').forEach(function (b) {
    b.addEventListener('click', function () {
      var el = document.getElementById(b.getAttribute('data-target'));
      if (!el) return;
      var text = el.textContent;
      var done = function () { b.textContent = 'copied'; setTimeout(function () { b.textContent = 'copy'; }, 1500); };
      var fallback = function () {
        var range = document.createRange(); range.selectNodeContents(el);
        var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range);
        try { document.execCommand('copy'); done(); } catch (e) {}
      };
      if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, fallback);
      else fallback();
    });
  });
  var boxes = document.querySelectorAll('input.vf');
  var apply = function () {
    var shown = {};
    boxes.forEach(function (cb) { shown[cb.value] = cb.checked; });
    document.querySelectorAll('#scenario-table tbody tr').forEach(function (tr) {
      tr.classList.toggle('hidden', !shown[tr.getAttribute('data-verdict')]);
    });
  };
  boxes.forEach(function (cb) { cb.addEventListener('change', apply); });
  document.documentElement.setAttribute('data-report-ready', '1');
})();
)JS";

std::string scenario_id(std::size_t index) { return "s" + std::to_string(index); }

std::string badge(const ScenarioResult& s) {
    const auto v = verdict_class(s);
    std::string text(v);
    for (char& c : text) c = static_cast<char>(c - 'a' + 'A');
    return "<span class=\"badge " + std::string(v) + "\">" + text + "</span>";
}

std::string known_mark(const ScenarioResult& s) {
    std::string label;
    switch (s.known_status) {
        case KnownStatus::none: return "";
        case KnownStatus::known: label = "known issue"; break;
        case KnownStatus::fixed: label = "fixed?"; break;
        case KnownStatus::new_failure: label = "new failure"; break;
    }
    return "<span class=\"ks " + std::string(name_of(s.known_status)) + "\" title=\"" + attr(s.known_issue) + "\">" +
           esc(label) + "</span>";
}

// Long text keeps its head and tail.
void write_lines(std::ostream& out, const std::vector<std::string>& lines, std::size_t head, std::size_t tail) {
    if (lines.size() <= head + tail) {
        for (const auto& line : lines) out << esc(line) << "\n";
        return;
    }
    for (std::size_t i = 0; i < head; ++i) out << esc(lines[i]) << "\n";
    out << "<span class=\"elided\">\u22ef " << lines.size() - head - tail
        << " lines elided (the JSON report has them all) \u22ef</span>\n";
    for (std::size_t i = lines.size() - tail; i < lines.size(); ++i) out << esc(lines[i]) << "\n";
}

void write_run_info(std::ostream& out, const RunReport& report, const Summary& sum) {
    out << "<header class=\"card\" id=\"top\"><h1>rmtfs-hil report<span class=\"overall "
        << (sum.ok() ? "ok\">OK" : "bad\">FAILED") << "</span></h1>\n";
    if (report.interrupted)
        out << "<div class=\"banner\"><b>Interrupted:</b> the run was stopped before every scenario ran.</div>\n";
    out << "<dl class=\"runinfo\">";
    auto item = [&](std::string_view name, const std::string& value, const char* cls = "") {
        out << "<dt>" << name << "</dt><dd class=\"" << cls << "\">" << esc(value) << "</dd>";
    };
    item("started", report.started_at.empty() ? "-" : report.started_at);
    item("duration", format_ms(report.duration_ms));
    item("seed", std::to_string(report.seed), "mono");
    item("jobs", std::to_string(report.jobs));
    item("server", report.server.empty() ? "-" : report.server, "mono wide");
    item("command", report.command.empty() ? "-" : report.command, "mono wide");
    out << "</dl></header>\n";
}

void write_summary(std::ostream& out, const Summary& sum) {
    out << "<section class=\"card\" id=\"summary\"><h2>Summary</h2><div class=\"counts\">";
    auto count = [&](std::string_view cls, std::size_t n, std::string_view label) {
        out << "<div class=\"count " << cls << "\"><b>" << n << "</b>" << label << "</div>";
    };
    count("total", sum.total, "scenarios");
    count(name_of(Verdict::pass), sum.passed, "passed");
    count(name_of(Verdict::fail), sum.failed, "failed");
    count(name_of(Verdict::error), sum.errors, "errors");
    count(name_of(Verdict::skip), sum.skipped, "skipped");
    count("known", sum.known, "known issues");
    count("fixed", sum.fixed, "fixed");
    count("new", sum.new_failures, "new failures");
    out << "</div><p>" << sum.unexpected << " unexpected failure" << (sum.unexpected == 1 ? "" : "s")
        << " (failures and errors not explained by a known issue)";
    out << ".";
    if (sum.fixed)
        out << " " << sum.fixed << " known issue" << (sum.fixed == 1 ? "" : "s")
            << " passed: fixed? Update the scenario's known_issue.";
    out << "</p></section>\n";
}

void write_scenario_table(std::ostream& out, const RunReport& report) {
    out << "<section class=\"card\" id=\"scenarios\"><h2>Scenarios</h2>\n"
        << "<div class=\"filters\">show: ";
    for (const std::string& v : names_of<Verdict>())
        out << "<label><input type=\"checkbox\" class=\"vf\" value=\"" << v << "\" checked> " << v << "</label>";
    out << "</div>\n<table id=\"scenario-table\"><thead><tr><th>scenario</th><th>verdict</th><th>known issue</th>"
           "<th>time</th><th>reason</th></tr></thead><tbody>\n";
    for (std::size_t i = 0; i < report.scenarios.size(); ++i) {
        const auto& s = report.scenarios[i];
        out << "<tr data-verdict=\"" << verdict_class(s) << "\"><td><a href=\"#" << scenario_id(i) << "\">"
            << esc(s.name) << "</a></td><td>" << badge(s) << "</td><td>" << known_mark(s) << "</td><td class=\"num\">"
            << esc(format_ms(s.duration_ms)) << "</td><td class=\"reason\" title=\"" << attr(s.reason) << "\">"
            << esc(truncate(s.reason, 160)) << "</td></tr>\n";
    }
    out << "</tbody></table></section>\n";
}

std::string cell_html(const MatrixCell& cell, const RunReport& report) {
    const std::size_t n = cell.scenarios.size();
    if (n == 0) return "<span class=\"elided\">\u00b7</span>";
    std::ostringstream out;
    if (cell.up == n) out << "<span class=\"cell-up\" title=\"modem up at the end\">\u2713 up</span>";
    else if (cell.up == 0) out << "<span class=\"cell-down\" title=\"modem not up at the end\">\u2717 down</span>";
    else out << "<span class=\"cell-down\">\u2717 up " << cell.up << "/" << n << "</span>";
    out << " \u00b7 ";
    if (cell.lost) out << "<span class=\"lost\">data lost" << (n > 1 ? " " + std::to_string(cell.lost) + "/" + std::to_string(n) : "") << "</span>";
    else out << "no loss";
    out << " \u00b7 ";
    if (cell.worst_recovery_ms) out << (n > 1 ? "\u2264 " : "") << esc(format_ms(*cell.worst_recovery_ms));
    else out << (cell.up == n ? "no outage" : "never recovered");
    out << "<br><small>";
    for (std::size_t i = 0; i < n; ++i) {
        const ScenarioResult* s = cell.scenarios[i];
        const auto index = static_cast<std::size_t>(s - report.scenarios.data());
        out << (i ? ", " : "") << "<a href=\"#" << scenario_id(index) << "\">" << esc(s->name) << "</a>";
    }
    out << "</small>";
    return out.str();
}

void write_matrix(std::ostream& out, const RunReport& report) {
    const Matrix m = build_matrix(report);
    out << "<section class=\"card\" id=\"matrix\"><h2>Coupling policy \u00d7 faults</h2>"
           "<p class=\"meta\">Modem up at the end (\u2713/\u2717), data lost, time to recover.</p>\n";
    if (m.empty()) {
        out << "<p class=\"elided\">No scenarios ran.</p></section>\n";
        return;
    }
    if (m.sparse()) {
        out << "<table class=\"matrix list\"><thead><tr><th>coupling</th><th>faults</th><th>result</th></tr></thead>"
               "<tbody>\n";
        for (std::size_t r = 0; r < m.couplings.size(); ++r)
            for (std::size_t c = 0; c < m.fault_keys.size(); ++c) {
                if (m.cells[r][c].scenarios.empty()) continue;
                out << "<tr><td>" << esc(m.couplings[r]) << "</td><td>" << esc(m.fault_keys[c]) << "</td><td>"
                    << cell_html(m.cells[r][c], report) << "</td></tr>\n";
            }
        out << "</tbody></table></section>\n";
        return;
    }
    out << "<table class=\"matrix\"><thead><tr><th>coupling \\ faults</th>";
    for (const auto& k : m.fault_keys) out << "<th>" << esc(k) << "</th>";
    out << "</tr></thead><tbody>\n";
    for (std::size_t r = 0; r < m.couplings.size(); ++r) {
        out << "<tr><th>" << esc(m.couplings[r]) << "</th>";
        for (std::size_t c = 0; c < m.fault_keys.size(); ++c) out << "<td>" << cell_html(m.cells[r][c], report) << "</td>";
        out << "</tr>\n";
    }
    out << "</tbody></table></section>\n";
}

void write_steps(std::ostream& out, const ScenarioResult& s) {
    out << "<h3>Steps</h3>";
    if (s.steps.empty()) {
        out << "<p class=\"elided\">No steps ran.</p>\n";
        return;
    }
    out << "<table class=\"steps\"><thead><tr><th>#</th><th>step</th><th>status</th><th>time</th><th>message</th>"
           "<th>where</th></tr></thead><tbody>\n";
    for (const auto& step : s.steps) {
        const std::string_view status_cls = name_of(step.status);
        out << "<tr><td class=\"num\">" << step.index << "</td><td><b>" << esc(step.kind) << "</b>";
        if (!step.note.empty()) out << "<br><small>" << esc(step.note) << "</small>";
        out << "</td><td><span class=\"badge " << status_cls << "\">" << status_cls << "</span></td>"
            << "<td class=\"num\">" << esc(fixed(step.started_ms, 1)) << " ms <small>+"
            << esc(format_ms(step.ended_ms - step.started_ms)) << "</small></td><td><pre>" << esc(step.message)
            << "</pre></td><td class=\"mono where\">" << esc(step.where) << "</td></tr>\n";
    }
    out << "</tbody></table>\n";
}

void write_legend(std::ostream& out) {
    out << "<div class=\"legend\">";
    for (const auto& lane : lanes)
        out << "<span><i style=\"background:" << lane.colour << "\"></i>" << lane.label << "</span>";
    out << "<span><i style=\"background:#0e7490;border-radius:0;height:3px\"></i>modem \u2192 rmtfs</span>"
        << "<span><i style=\"background:#1d4ed8;border-radius:0;height:3px\"></i>rmtfs \u2192 modem</span>"
        << "<span><i style=\"background:" << fault_red << "\"></i>fault</span>"
        << "<span><i style=\"background:#ea580c;border-radius:0\"></i>drop</span></div>\n";
}

void write_scenario(std::ostream& out, const ScenarioResult& s, std::size_t index) {
    const std::string id = scenario_id(index);
    out << "<section class=\"card scenario v-" << verdict_class(s) << "\" id=\"" << id << "\">\n<h2>" << esc(s.name)
        << " " << badge(s) << " " << known_mark(s) << "</h2>\n";
    if (!s.description.empty()) out << "<p class=\"desc\">" << esc(s.description) << "</p>\n";
    out << "<div class=\"meta\">";
    if (!s.file.empty()) out << "<span>file <b class=\"mono\">" << esc(s.file) << "</b></span>";
    out << "<span>time <b>" << esc(format_ms(s.duration_ms)) << "</b></span><span>seed <b class=\"mono\">" << s.seed
        << "</b></span>";
    if (!s.tags.empty()) {
        out << "<span>tags <b>";
        for (std::size_t i = 0; i < s.tags.size(); ++i) out << (i ? ", " : "") << esc(s.tags[i]);
        out << "</b></span>";
    }
    if (!s.coupling.empty()) out << "<span>coupling <b>" << esc(s.coupling) << "</b></span>";
    out << "<span>faults <b>" << esc(fault_key(s)) << "</b></span><span>modem at the end <b>"
        << (s.modem_up_at_end ? "\u2713 up" : "\u2717 down") << "</b></span><span>data <b>"
        << (s.data_lost ? "lost" : "kept") << "</b></span>";
    if (s.recovery_ms) out << "<span>recovered in <b>" << esc(format_ms(*s.recovery_ms)) << "</b></span>";
    out << "</div>\n";
    if (!s.reason.empty()) out << "<div class=\"why\"><b>Why:</b> <span class=\"reason\">" << esc(s.reason) << "</span></div>\n";
    if (!s.known_issue.empty()) {
        out << "<div class=\"known-issue\"><b>Known issue";
        if (s.known_status == KnownStatus::known) out << " (fails as expected)";
        else if (s.known_status == KnownStatus::fixed) out << " (it passed: fixed?)";
        else if (s.known_status == KnownStatus::new_failure) out << " (fails differently: a new failure)";
        out << ":</b> " << esc(s.known_issue) << "</div>\n";
    }
    if (!s.reproduce.empty())
        out << "<h3>Reproduce</h3><div class=\"repro\"><pre id=\"" << id << "-repro\"><code>" << esc(s.reproduce)
            << "</code></pre><button type=\"button\" class=\"copy\" data-target=\"" << id
            << "-repro\">copy</button></div>\n";
    out << "<h3>Ledger</h3>";
    const std::string ledger_cls = !s.ledger_violations.empty()           ? "violated"
                                   : s.ledger_verdict.rfind("clean", 0) == 0 ? "clean"
                                                                             : "";
    out << "<p class=\"ledger " << ledger_cls << "\">" << esc(s.ledger_verdict.empty() ? "-" : s.ledger_verdict)
        << "</p>";
    if (!s.ledger_violations.empty()) {
        out << "<ul class=\"violations\">";
        for (const auto& v : s.ledger_violations) out << "<li>" << esc(v) << "</li>";
        out << "</ul>";
    }
    out << "\n<h3>Timeline</h3>\n";
    write_legend(out);
    out << "<div class=\"tlwrap\">" << render_timeline_svg(s, id + "-tl") << "</div>\n";
    write_steps(out, s);
    out << "<details class=\"daemon-log\"" << (s.daemon_log.size() <= 40 && is_failure(s) ? " open" : "")
        << "><summary>Daemon log (" << s.daemon_log.size() << " lines)</summary><pre class=\"log\">";
    write_lines(out, s.daemon_log, 1000, 4000);
    out << "</pre></details>\n";
    out << "<details class=\"trace\"><summary>Trace (" << s.trace.size() << " events)</summary><pre class=\"log\">";
    std::vector<std::string> trace_lines;
    trace_lines.reserve(s.trace.size());
    for (const auto& e : s.trace)
        trace_lines.push_back(fixed(e.at_ms, 3) + " " + std::string(name_of(e.source)) + "/" +
                              std::string(name_of(e.kind)) + " " + e.detail);
    write_lines(out, trace_lines, 1000, 4000);
    out << "</pre></details>\n<p><a href=\"#top\">\u2191 top</a></p></section>\n";
}

}  // namespace

std::string render_html(const RunReport& report) {
    const Summary sum = summarise(report);
    std::ostringstream out;
    out << "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        << "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
           "script-src 'unsafe-inline'; img-src data:\">\n"
        << "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        << "<title>rmtfs-hil report: " << sum.total << " scenario" << (sum.total == 1 ? "" : "s") << ", "
        << sum.passed << " passed, " << sum.failed << " failed, " << sum.errors << " error"
        << (sum.errors == 1 ? "" : "s") << ", " << sum.skipped << " skipped</title>\n"
        << "<style>" << page_css << "</style>\n</head>\n<body>\n<main>\n";
    write_run_info(out, report, sum);
    write_summary(out, sum);
    write_scenario_table(out, report);
    write_matrix(out, report);
    for (std::size_t i = 0; i < report.scenarios.size(); ++i) write_scenario(out, report.scenarios[i], i);
    out << "<footer>Generated by rmtfs-hil. Self-contained: nothing on this page is fetched.</footer>\n</main>\n"
        << "<script>" << page_js << "</script>\n</body>\n</html>\n";
    return out.str();
}

std::string write_html(const RunReport& report, const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
    const std::filesystem::path path = dir / "index.html";
    const std::string page = render_html(report);
    std::ofstream file(path, std::ios::binary | std::ios::trunc);
    if (!file) throw std::runtime_error("cannot write " + path.string());
    file << page;
    file.flush();
    if (!file) throw std::runtime_error("cannot write " + path.string());
    return path.string();
}

}  // namespace rmtfs_hil::engine
