#include "engine/runner.hpp"

#include <algorithm>
#include <chrono>

#include "engine/fault.hpp"
#include "engine/wording.hpp"
#include "server/process.hpp"

namespace rmtfs_hil::engine {

namespace {

using Clock = std::chrono::steady_clock;

// Until the daemon started by the setup publishes service 14.
constexpr milliseconds service_wait_at_start = 10s;

std::string joined(const std::vector<std::string>& names) {
    std::string text;
    for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
    return text;
}

// One scenario's run: the target, the steps and the evidence.
class ScenarioRun {
public:
    ScenarioRun(const Scenario& scenario, const RunOptions& options)
        : s_(scenario), options_(options), seed_(options.seed.value_or(scenario.seed)), started_(Clock::now()) {}

    ScenarioResult run();
    // The scenario cannot go on (a harness bug): error, with what it had.
    ScenarioResult abandon(const std::string& why);

private:
    // `finding`: the failure itself, without the step and place the reason
    // names (what a known issue matches); `step`: the 0-based step it came at.
    void finish_with(Verdict verdict, std::string reason, std::optional<std::string> finding = std::nullopt,
                     std::optional<std::size_t> step = std::nullopt) {
        if (!decided_) {
            decided_ = true;
            result_.verdict = verdict;
            finding_ = finding ? std::move(*finding) : reason;
            failed_step_ = step;
            result_.reason = std::move(reason);
        }
    }
    bool interrupted() const { return options_.interrupted && options_.interrupted(); }
    bool past_deadline() const { return Clock::now() - started_ >= milliseconds(s_.timeout_ms); }
    StepFailure past_deadline_failure(const std::string& seen) const {
        return StepFailure{"the scenario ran past its " + std::to_string(s_.timeout_ms) + " ms bound (timeout_ms)" +
                               (seen.empty() ? "" : "; the step had seen: " + seen),
                           true};
    }
    double now_ms() const { return std::chrono::duration<double, std::milli>(Clock::now() - started_).count(); }

    void describe_scenario();
    std::optional<std::string> not_runnable_here() const;
    std::optional<StepFailure> setup();
    void run_steps();
    std::optional<StepFailure> run_step(const Step& step, std::size_t index);
    void judge_end();
    std::optional<StepFailure> crashed_invariant();
    std::optional<std::string> unfired_fault() const;
    void collect_evidence();

    const Scenario& s_;
    const RunOptions& options_;
    std::uint64_t seed_;
    Clock::time_point started_;
    std::unique_ptr<Target> target_;
    ScenarioResult result_;
    bool decided_ = false;  // the verdict is in
    std::string finding_;   // the failure without its step and place
    std::optional<std::size_t> failed_step_;
    RunBook book_;
    std::size_t ends_checked_ = 0;
};

void ScenarioRun::describe_scenario() {
    result_.name = s_.name;
    result_.description = s_.description;
    result_.file = s_.where.file;
    result_.tags = s_.tags;
    result_.seed = seed_;
    result_.coupling = std::string(name_of(s_.setup.coupling));
    result_.known_issue = s_.known_issue ? s_.known_issue->text : "";
    result_.reproduce = options_.reproduce_prefix + " " + wording::shell_quote(s_.where.file);
    for (const auto& step : s_.steps)
        if (auto label = step.action->fault_label()) result_.faults.push_back(*label);
}

std::optional<std::string> ScenarioRun::not_runnable_here() const {
    if (std::find(s_.targets.begin(), s_.targets.end(), options_.target) == s_.targets.end()) {
        std::vector<std::string> targets;
        for (TargetKind t : s_.targets) targets.emplace_back(name_of(t));
        return "not for target " + std::string(name_of(options_.target)) + " (the scenario's targets: " + joined(targets) + ")";
    }
    if (options_.fixed_board && s_.setup.board && *s_.setup.board != options_.board->name)
        return "for board " + *s_.setup.board + "; the target is board " + options_.board->name;
    return missing_capabilities(s_, options_.capabilities);
}

std::optional<StepFailure> ScenarioRun::crashed_invariant() {
    if (!s_.invariants.server_alive) return std::nullopt;
    const auto& events = target_->events();
    for (; ends_checked_ < events.size(); ++ends_checked_) {
        const TraceRecord& e = events[ends_checked_];
        if (e.source != sim::TraceSource::server || e.kind != sim::TraceKind::ended || !e.fields.exit) continue;
        if (const std::optional<int> signal = e.fields.exit->signal) {
            if (book_.signals_sent.contains(*signal)) continue;
            return StepFailure{"the daemon crashed: " + e.detail + " (no step sent it that signal)", false};
        }
        // An exit, clean or not, with nothing asking it to end: it stopped serving.
        const bool asked_to_end = std::any_of(book_.signals_sent.begin(), book_.signals_sent.end(),
                                              [](int s) { return s != SIGSTOP && s != SIGCONT; });
        if (e.fields.exit->code && !asked_to_end)
            return StepFailure{"the daemon ended on its own: " + e.detail + " (no step stopped it; it must keep serving)",
                               false};
    }
    return std::nullopt;
}

std::optional<StepFailure> ScenarioRun::setup() {
    Target& target = *target_;
    if (s_.setup.server.start) {
        if (auto error = target.start_daemon()) return StepFailure{"setup: the daemon did not start: " + *error, true};
        auto ended = [&] { return !target.daemon_running(); };
        bool waited = target.wait_until([&] { return target.service_published() || ended(); }, service_wait_at_start);
        if (interrupted()) return StepFailure{"interrupted", true};
        if (!waited || !target.service_published())
            return StepFailure{"setup: the daemon did not publish service 14 within " +
                                   std::to_string(service_wait_at_start.count()) + " ms" + (ended() ? " (it ended)" : ""),
                               false};
    }
    for (std::size_t i = 0; i < s_.setup.modems.size(); ++i) {
        if (!s_.setup.modems[i].boot || !s_.setup.server.start) continue;
        std::optional<sim::BootResult> boot;
        if (s_.setup.coupling == sim::CouplingPolicy::manual)
            boot = target.boot_modem(i, default_boot_timeout);
        else
            boot = target.wait_for_boot(i, default_boot_timeout, 0);
        if (interrupted()) return StepFailure{"interrupted", true};
        if (!boot)
            return StepFailure{"setup: the " + std::string(name_of(s_.setup.coupling)) + " policy never booted modem " +
                                   std::to_string(i),
                               false};
        if (!boot->ok) return StepFailure{"setup: modem " + std::to_string(i) + " did not boot: " + boot->reason, false};
    }
    return std::nullopt;
}

std::optional<StepFailure> ScenarioRun::run_step(const Step& step, std::size_t index) {
    StepContext context{*target_, s_, seed_, index, step.timeout(), book_};
    auto failure = step.action->run(context);
    if (auto trouble = target_->trouble()) return StepFailure{*trouble, true};
    if (failure && !failure->harness) {
        // The daemon's death explains a step's failure better than the step
        // can: once an end the kernel knows of is reported, say it.
        if (auto unsettled = target_->settle()) return StepFailure{unsettled->why, unsettled->machine};
        if (auto crash = crashed_invariant()) return StepFailure{crash->message + "; the step: " + failure->message, false};
    }
    if (failure) return failure;
    return crashed_invariant();
}

void ScenarioRun::run_steps() {
    for (std::size_t i = 0; i < s_.steps.size(); ++i) {
        const Step& step = s_.steps[i];
        StepResult step_result;
        step_result.index = i;
        step_result.kind = step.kind;
        step_result.note = step.note;
        step_result.where = step.where.describe();
        step_result.started_ms = now_ms();
        std::optional<StepFailure> failure;
        if (interrupted())
            failure = StepFailure{"interrupted", true};
        else if (past_deadline())
            failure = past_deadline_failure("");
        else
            failure = run_step(step, i);
        // A step cut short by Ctrl-C or by the scenario's bound says so, not
        // what it saw meanwhile.
        if (failure && interrupted()) failure = StepFailure{"interrupted", true};
        else if (failure && past_deadline()) failure = past_deadline_failure(failure->message);
        if (!failure && !book_.invariant_failures.empty()) failure = StepFailure{book_.invariant_failures.front()};
        step_result.ended_ms = now_ms();
        step_result.status = !failure ? StepStatus::passed : failure->harness ? StepStatus::error : StepStatus::failed;
        step_result.message = failure ? failure->message : "";
        result_.steps.push_back(step_result);
        if (options_.step_done) options_.step_done(step_result);
        if (!failure) continue;
        finish_with(failure->harness ? Verdict::error : Verdict::fail,
                    "step " + std::to_string(i + 1) + " (" + step.kind + ", " + step.where.describe() + "): " + failure->message,
                    failure->message, i);
        for (std::size_t j = i + 1; j < s_.steps.size(); ++j)
            result_.steps.push_back(
                StepResult{j, s_.steps[j].kind, s_.steps[j].note, StepStatus::skipped, "", 0, 0, s_.steps[j].where.describe()});
        return;
    }
}

std::optional<std::string> ScenarioRun::unfired_fault() const {
    for (const ArmedFault& armed : book_.armed) {
        std::string step = std::to_string(armed.step + 1);
        if (armed.trigger && !target_->fired(*armed.trigger)) return "the fault armed by step " + step + " never fired";
        if (armed.fired->io_fault && target_->io_fault_hits(*armed.fired->io_fault) == 0)
            return "the I/O fault armed by step " + step + " never hit a call";
    }
    return std::nullopt;
}

void ScenarioRun::judge_end() {
    // The invariants at the end, on a settled world: a death the last step
    // caused is reported first.
    if (auto unsettled = target_->settle())
        finish_with(unsettled->machine ? Verdict::error : Verdict::fail, unsettled->why);
    if (auto trouble = target_->trouble()) finish_with(Verdict::error, *trouble);
    if (auto crashed = crashed_invariant()) finish_with(Verdict::fail, crashed->message);
    if (s_.invariants.ledger && !book_.ledger_judged) {
        auto violations = target_->check_ledger();
        if (!violations.empty()) finish_with(Verdict::fail, "ledger: " + sim::describe(violations));
    }
    if (auto unfired = unfired_fault()) finish_with(Verdict::error, *unfired + ": the scenario did not test what it says");
}

void ScenarioRun::collect_evidence() {
    if (!target_) return;
    result_.trace = target_->events();
    result_.daemon_log = target_->daemon_log();
    auto violations = target_->check_ledger();
    const sim::WriteLedger& ledger = target_->ledger();
    for (const auto& v : violations) result_.ledger_violations.push_back(v.describe());
    result_.ledger_verdict = violations.empty()
                                 ? "clean: " + std::to_string(ledger.writes()) + " writes (" +
                                       std::to_string(ledger.count(sim::WriteOutcome::ok)) + " ok, " +
                                       std::to_string(ledger.count(sim::WriteOutcome::failed)) + " failed, " +
                                       std::to_string(ledger.count(sim::WriteOutcome::unknown)) + " unknown)"
                                 : std::to_string(violations.size()) + " violation" + (violations.size() == 1 ? "" : "s");
    result_.data_lost = std::any_of(violations.begin(), violations.end(),
                                    [](const sim::LedgerViolation& v) { return v.kind == sim::ViolationKind::acknowledged_write_lost; });
    result_.modem_up_at_end = target_->modem_count() > 0 && target_->modem_state(0) == sim::ModemState::running;
    // Time to recover: from the first fault to the modem running again.
    std::optional<double> fault_at;
    for (const auto& e : target_->events()) {
        if (sim::is_fault(e.source, e.kind) && !fault_at) fault_at = e.at_ms;
        bool modem_up = e.source == sim::TraceSource::modem &&
                        (e.kind == sim::TraceKind::booted || e.kind == sim::TraceKind::recovered);
        if (fault_at && modem_up && e.at_ms > *fault_at) {
            result_.recovery_ms = e.at_ms - *fault_at;
            break;
        }
    }
}

ScenarioResult ScenarioRun::run() {
    describe_scenario();
    if (auto why = not_runnable_here()) {
        finish_with(Verdict::skip, *why);
        return result_;
    }
    auto created = options_.make_target(s_, TargetOptions{options_.server, options_.board, seed_, options_.interrupted});
    if (!created) {
        finish_with(Verdict::error, "the harness could not build the world: " + created.error());
        result_.known_status = known_issue_status(s_, Outcome{result_.verdict, finding_, failed_step_});
        return result_;
    }
    target_ = std::move(*created);
    target_->set_deadline(started_ + milliseconds(s_.timeout_ms));
    if (auto setup_failure = setup()) {
        if (past_deadline()) setup_failure = past_deadline_failure("setup: " + setup_failure->message);
        // The bench's own trouble explains a failed setup first.
        if (auto trouble = target_->trouble()) setup_failure = StepFailure{"setup: " + *trouble, true};
        finish_with(setup_failure->harness ? Verdict::error : Verdict::fail, setup_failure->message);
    }
    else {
        book_.after_setup = target_->daemon_resources();
        run_steps();
    }
    if (!decided_) judge_end();
    finish_with(Verdict::pass, "");
    // A harness starved of CPU may have seen the machine's slowness as the
    // daemon's failure: such a failure is an error, not the daemon's fail —
    // unless it is exactly the scenario's known issue (its finding at its
    // step): the daemon's documented bug explains it, and the starvation is
    // said beside it.
    if (auto starved = target_->starvation(); starved && result_.verdict == Verdict::fail) {
        if (known_issue_status(s_, Outcome{Verdict::fail, finding_, failed_step_}) == KnownStatus::known) {
            result_.reason += " (" + *starved + ", but this is exactly the known issue's failure)";
        } else {
            result_.verdict = Verdict::error;
            result_.reason = *starved + "; so this failure may be the machine's: " + result_.reason;
        }
    }
    result_.known_status = known_issue_status(s_, Outcome{result_.verdict, finding_, failed_step_});
    collect_evidence();
    target_.reset();  // the daemon and the sandbox go now, not with the result
    return result_;
}

ScenarioResult ScenarioRun::abandon(const std::string& why) {
    decided_ = false;
    finish_with(Verdict::error, why);
    result_.known_status = known_issue_status(s_, Outcome{result_.verdict, finding_, failed_step_});
    try {
        if (target_) result_.trace = target_->events();
        target_.reset();
    } catch (const ContractViolation&) {
        // The world is past saving; its destructors already ran what they could.
    }
    return result_;
}

}  // namespace

std::optional<std::string> missing_capabilities(const Scenario& scenario, const Capabilities& capabilities) {
    auto missing = capabilities.missing(needs_of(scenario));
    if (missing.empty()) return std::nullopt;
    std::vector<std::string> reasons;
    for (Capability c : missing) {
        std::string reason = std::string(name_of(c)) + " (the setup)";
        for (std::size_t i = 0; i < scenario.steps.size(); ++i) {
            const Step& step = scenario.steps[i];
            if (!step.action->needs().contains(c)) continue;
            reason = std::string(name_of(c)) + " (step " + std::to_string(i + 1) + ", " + step.kind + ", " +
                     step.where.describe() + ")";
            break;
        }
        reasons.push_back(reason);
    }
    return "the target cannot do what the scenario needs: " + joined(reasons);
}

KnownStatus known_issue_status(const Scenario& scenario, const Outcome& outcome) {
    if (!scenario.known_issue) return KnownStatus::none;
    // Not run, or not to the end: nothing to compare.
    if (outcome.verdict == Verdict::skip || (outcome.verdict == Verdict::error && outcome.finding == "interrupted"))
        return KnownStatus::none;
    const KnownIssue& known = *scenario.known_issue;
    if (outcome.verdict == Verdict::pass) return KnownStatus::fixed;
    const bool same_step = !known.step || (outcome.step && *outcome.step + 1 == *known.step);
    if (name_of(outcome.verdict) == name_of(known.observed) && same_step &&
        outcome.finding.find(known.match) != std::string::npos)
        return KnownStatus::known;
    return KnownStatus::new_failure;
}

ScenarioResult run_scenario(const Scenario& scenario, const RunOptions& options) {
    ScenarioRun run(scenario, options);
    auto started = Clock::now();
    ScenarioResult result;
    {
        ContractScope scope;  // a harness bug ends this scenario, not the suite
        try {
            result = run.run();
        } catch (const ContractViolation& bug) {
            result = run.abandon(std::string("a bug in the harness: ") + bug.what() +
                                 " (the daemon is not to blame; please report it with the scenario)");
        }
    }
    result.duration_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
    return result;
}

}  // namespace rmtfs_hil::engine
