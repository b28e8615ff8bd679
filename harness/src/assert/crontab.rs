//! CronJob schedules read the way Kubernetes reads them.
//!
//! The API server validates `spec.schedule` with `cron.ParseStandard` of robfig/cron v3.0.1,
//! and the CronJob controller computes run times with that library's `Schedule.Next`. Its
//! syntax differs from the `cron` crate's in ways that change which instants a schedule gives:
//!
//! - Five fields: minute, hour, day of month, month, day of week; no seconds and no year.
//! - Day of week 0–6 with 0 for Sunday. `7` is rejected ("end of range (7) above maximum (6)").
//!   The `cron` crate numbers weekdays 1–7 from Sunday.
//! - Names are the three-letter English abbreviations (`MON`, `jan`), in any case.
//! - `?` is accepted like `*` in every field. `N/step` means `N-max/step`.
//! - When day of month and day of week are both restricted (neither starts with `*` or `?`,
//!   or a `*/step` with a step above 1), a day matches if either field matches. Otherwise
//!   both must match. The `cron` crate always requires both.
//! - Descriptors `@yearly`, `@annually`, `@monthly`, `@weekly`, `@daily`, `@midnight`,
//!   `@hourly` and `@every <duration>` are accepted. `@every` runs at a fixed interval from
//!   the CronJob's creation or last schedule time.
//! - A `TZ=` or `CRON_TZ=` prefix, or any schedule containing `TZ`, is rejected by CronJob
//!   validation in favour of `spec.timeZone`.
//!
//! This module parses the expression itself into robfig's bit sets, then writes each set as an
//! explicit list for the `cron` crate, which finds the instants in the time zone. The either-day
//! rule has no `cron` crate syntax: such a schedule becomes two `cron` schedules, one per day
//! field, whose instants are merged.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, TimeDelta, Timelike, Utc};
use chrono_tz::Tz;

use syntax::{Bounds, DAYS_OF_MONTH, DAYS_OF_WEEK, HOURS, MINUTES, MONTHS, parse_expression};

mod syntax;

/// Bit 63 of a field marks that it began with `*` or `?`, as in robfig/cron.
const STAR_BIT: u64 = 1 << 63;

/// How far before a requested instant the `cron` crate starts searching. Where clocks go back,
/// it returns both instants of a repeated local time, so its output can step back in absolute
/// time by the length of the repeat. No zone of the tz database repeats a whole day.
const REPEAT_MARGIN: TimeDelta = TimeDelta::hours(25);

/// The reason a schedule or time zone is rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("invalid schedule `{schedule}`: {problem}")]
    InvalidSchedule { schedule: String, problem: String },
    #[error("invalid time zone `{time_zone}`: {problem}")]
    InvalidTimeZone { time_zone: String, problem: String },
}

/// A CronJob schedule with its time zone, ready to give the instants the controller runs at.
#[derive(Clone)]
pub struct KubernetesSchedule {
    source: String,
    time_zone: Tz,
    kind: Kind,
}

#[derive(Clone)]
enum Kind {
    Fields(Fields),
    /// `@every`: a fixed interval in whole seconds, at least one second.
    Every(TimeDelta),
}

/// robfig/cron's bit sets, bit n for value n, with [`STAR_BIT`].
#[derive(Clone)]
struct Fields {
    minutes: u64,
    hours: u64,
    days_of_month: u64,
    months: u64,
    days_of_week: u64,
    /// The translation into `cron` crate schedules whose instants together are the schedule's.
    translated: Vec<::cron::Schedule>,
}

impl fmt::Debug for KubernetesSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KubernetesSchedule")
            .field("source", &self.source)
            .field("time_zone", &self.time_zone)
            .finish_non_exhaustive()
    }
}

/// Parses `spec.schedule` and `spec.timeZone` of a CronJob the way Kubernetes validates them.
///
/// Without a time zone the controller uses the kube-controller-manager's local zone. This
/// function assumes UTC, the zone that kind and k3s control planes run in.
///
/// NOTE: a cluster whose controller manager runs in another zone schedules zone-less CronJobs
/// differently; give such CronJobs a `spec.timeZone`.
pub fn kubernetes_schedule(
    expression: &str,
    time_zone: Option<&str>,
) -> Result<KubernetesSchedule, ScheduleError> {
    let time_zone = parse_time_zone(time_zone)?;
    let invalid = |problem: String| ScheduleError::InvalidSchedule {
        schedule: expression.to_owned(),
        problem,
    };
    if expression.contains("TZ") {
        return Err(invalid(
            "cannot use TZ or CRON_TZ in schedule, use timeZone field instead".to_owned(),
        ));
    }
    let kind = parse_expression(expression).map_err(invalid)?;
    Ok(KubernetesSchedule {
        source: expression.to_owned(),
        time_zone,
        kind,
    })
}

fn parse_time_zone(time_zone: Option<&str>) -> Result<Tz, ScheduleError> {
    let Some(name) = time_zone else {
        return Ok(Tz::UTC);
    };
    let invalid = |problem: String| ScheduleError::InvalidTimeZone {
        time_zone: name.to_owned(),
        problem,
    };
    if name.is_empty() {
        return Err(invalid(
            "timeZone must be nil or non-empty string".to_owned(),
        ));
    }
    if name.eq_ignore_ascii_case("Local") {
        return Err(invalid(
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
                .to_owned(),
        ));
    }
    Tz::from_str(name).map_err(|_| invalid(format!("unknown time zone {name}")))
}

impl KubernetesSchedule {
    /// Returns the expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    /// Returns the first instant strictly after `after`, as the controller's `Schedule.Next`
    /// computes it.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.instants_after(after).next()
    }

    /// Iterates over the instants strictly after `after`, in order. For `@every`, `after` is
    /// the start of the interval chain: the CronJob's creationTimestamp or last schedule time.
    pub fn instants_after(&self, after: DateTime<Utc>) -> Instants {
        match &self.kind {
            Kind::Every(interval) => Instants(InstantsState::Every {
                next: truncate_to_second(after) + *interval,
                interval: *interval,
            }),
            Kind::Fields(fields) => {
                let start = (after - REPEAT_MARGIN).with_timezone(&self.time_zone);
                Instants(InstantsState::Fields {
                    sources: fields
                        .translated
                        .iter()
                        .map(|schedule| schedule.after_owned(start).peekable())
                        .collect(),
                    pending: BTreeSet::new(),
                    after,
                })
            }
        }
    }

    /// Checks whether the controller, starting from `origin` (the CronJob's creationTimestamp),
    /// schedules a run at `instant`: it is after `origin` and one of the schedule's instants.
    pub fn is_instant(&self, origin: DateTime<Utc>, instant: DateTime<Utc>) -> bool {
        if instant <= origin {
            return false;
        }
        match &self.kind {
            Kind::Every(interval) => {
                let elapsed = instant - truncate_to_second(origin);
                elapsed.subsec_nanos() == 0 && elapsed.num_seconds() % interval.num_seconds() == 0
            }
            Kind::Fields(fields) => fields.includes(instant.with_timezone(&self.time_zone)),
        }
    }
}

fn truncate_to_second(instant: DateTime<Utc>) -> DateTime<Utc> {
    instant.with_nanosecond(0).unwrap_or(instant)
}

impl Fields {
    /// Checks whether a local time is one of the schedule's instants, by robfig/cron's rules.
    fn includes(&self, local: DateTime<Tz>) -> bool {
        let has = |bits: u64, value: u32| bits & (1 << value) != 0;
        let day_of_month = has(self.days_of_month, local.day());
        let day_of_week = has(self.days_of_week, local.weekday().num_days_from_sunday());
        let day = if (self.days_of_month | self.days_of_week) & STAR_BIT != 0 {
            day_of_month && day_of_week
        } else {
            day_of_month || day_of_week
        };
        local.second() == 0
            && local.nanosecond() == 0
            && has(self.minutes, local.minute())
            && has(self.hours, local.hour())
            && has(self.months, local.month())
            && day
    }
}

/// The instants of a schedule after some instant, in order.
pub struct Instants(InstantsState);

enum InstantsState {
    Every {
        next: DateTime<Utc>,
        interval: TimeDelta,
    },
    Fields {
        sources: Vec<std::iter::Peekable<::cron::OwnedScheduleIterator<Tz>>>,
        /// Instants read from the sources and not returned yet.
        pending: BTreeSet<DateTime<Utc>>,
        after: DateTime<Utc>,
    },
}

impl Iterator for Instants {
    type Item = DateTime<Utc>;

    fn next(&mut self) -> Option<DateTime<Utc>> {
        match &mut self.0 {
            InstantsState::Every { next, interval } => {
                let current = *next;
                *next = current + *interval;
                Some(current)
            }
            InstantsState::Fields {
                sources,
                pending,
                after,
            } => loop {
                // A source's later output is never more than REPEAT_MARGIN before what it
                // returns next, so the earliest pending instant is final once every source has
                // moved that far past it.
                let frontier = sources
                    .iter_mut()
                    .filter_map(|source| source.peek().map(|next| next.with_timezone(&Utc)))
                    .min();
                if let Some(&earliest) = pending.first()
                    && frontier.is_none_or(|frontier| frontier >= earliest + REPEAT_MARGIN)
                {
                    pending.pop_first();
                    return Some(earliest);
                }
                let frontier = frontier?;
                let source = sources
                    .iter_mut()
                    .find_map(|source| {
                        let next = source.peek()?.with_timezone(&Utc);
                        (next == frontier).then_some(source)
                    })
                    .expect("the frontier comes from a source");
                if let Some(instant) = source.next().map(|next| next.with_timezone(&Utc))
                    && instant > *after
                {
                    pending.insert(instant);
                }
            },
        }
    }
}

/// Writes the values of a bit set within bounds as a `cron` crate list, shifted by `offset`.
fn cron_list(bits: u64, bounds: &Bounds, offset: u32) -> String {
    let values: Vec<String> = (bounds.min..=bounds.max)
        .filter(|value| bits & (1 << value) != 0)
        .map(|value| (value + offset).to_string())
        .collect();
    values.join(",")
}

impl Fields {
    /// Keeps robfig/cron's bit sets and translates them into `cron` crate schedules.
    fn new(
        minutes: u64,
        hours: u64,
        days_of_month: u64,
        months: u64,
        days_of_week: u64,
    ) -> Result<Self, String> {
        let lists = [
            ("minute", cron_list(minutes, &MINUTES, 0)),
            ("hour", cron_list(hours, &HOURS, 0)),
            ("day of month", cron_list(days_of_month, &DAYS_OF_MONTH, 0)),
            ("month", cron_list(months, &MONTHS, 0)),
            // The `cron` crate numbers weekdays 1–7 from Sunday.
            ("day of week", cron_list(days_of_week, &DAYS_OF_WEEK, 1)),
        ];
        if let Some((field, _)) = lists.iter().find(|(_, list)| list.is_empty()) {
            // robfig/cron accepts a field of only commas as an empty set. The controller then
            // finds no run time and reports an error instead of creating Jobs.
            return Err(format!(
                "the {field} field selects no value, so the CronJob never runs"
            ));
        }
        let [minute, hour, day_of_month, month, day_of_week] = lists.map(|(_, list)| list);

        let either_day = (days_of_month | days_of_week) & STAR_BIT == 0;
        let expressions = if either_day {
            vec![
                format!("0 {minute} {hour} {day_of_month} {month} *"),
                format!("0 {minute} {hour} * {month} {day_of_week}"),
            ]
        } else {
            vec![format!(
                "0 {minute} {hour} {day_of_month} {month} {day_of_week}"
            )]
        };
        let translated = expressions
            .iter()
            .map(|expression| {
                ::cron::Schedule::from_str(expression)
                    .map_err(|error| format!("internal translation `{expression}` failed: {error}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            minutes,
            hours,
            days_of_month,
            months,
            days_of_week,
            translated,
        })
    }
}

#[cfg(test)]
mod tests;
