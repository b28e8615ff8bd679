//! The schedule syntax of robfig/cron v3.0.1 as `cron.ParseStandard` reads it: five fields
//! into bit sets, descriptors, and Go durations for `@every`. Error messages repeat the
//! library's, because the API server returns them when it rejects a CronJob.

use chrono::TimeDelta;

use super::{Fields, Kind, STAR_BIT};

/// The allowed values and names of one field.
pub(super) struct Bounds {
    pub(super) min: u32,
    pub(super) max: u32,
    names: &'static [(&'static str, u32)],
    /// Appended to the error for a value above `max`.
    hint: &'static str,
}

pub(super) const MINUTES: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
    hint: "",
};
pub(super) const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
    hint: "",
};
pub(super) const DAYS_OF_MONTH: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
    hint: "",
};
pub(super) const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        ("jan", 1),
        ("feb", 2),
        ("mar", 3),
        ("apr", 4),
        ("may", 5),
        ("jun", 6),
        ("jul", 7),
        ("aug", 8),
        ("sep", 9),
        ("oct", 10),
        ("nov", 11),
        ("dec", 12),
    ],
    hint: "",
};
pub(super) const DAYS_OF_WEEK: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &[
        ("sun", 0),
        ("mon", 1),
        ("tue", 2),
        ("wed", 3),
        ("thu", 4),
        ("fri", 5),
        ("sat", 6),
    ],
    hint: " (hint: Kubernetes numbers weekdays 0-6 from Sunday; write 0 or SUN for Sunday)",
};

pub(super) fn parse_expression(expression: &str) -> Result<Kind, String> {
    if expression.is_empty() {
        return Err("empty spec string".to_owned());
    }
    if expression.starts_with('@') {
        return parse_descriptor(expression);
    }

    let fields: Vec<&str> = expression.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    Fields::new(
        parse_field(fields[0], &MINUTES)?,
        parse_field(fields[1], &HOURS)?,
        parse_field(fields[2], &DAYS_OF_MONTH)?,
        parse_field(fields[3], &MONTHS)?,
        parse_field(fields[4], &DAYS_OF_WEEK)?,
    )
    .map(Kind::Fields)
}

/// Returns every value of a field with the star bit, as robfig/cron's `all` does.
fn all(bounds: &Bounds) -> u64 {
    bits(bounds.min, bounds.max, 1) | STAR_BIT
}

/// Returns the lowest value of a field alone, robfig/cron's `1 << bounds.min`.
fn first(bounds: &Bounds) -> u64 {
    1 << bounds.min
}

fn parse_descriptor(descriptor: &str) -> Result<Kind, String> {
    let (minute, hour) = (first(&MINUTES), first(&HOURS));
    let fields = match descriptor {
        "@yearly" | "@annually" => Fields::new(
            minute,
            hour,
            first(&DAYS_OF_MONTH),
            first(&MONTHS),
            all(&DAYS_OF_WEEK),
        ),
        "@monthly" => Fields::new(
            minute,
            hour,
            first(&DAYS_OF_MONTH),
            all(&MONTHS),
            all(&DAYS_OF_WEEK),
        ),
        "@weekly" => Fields::new(
            minute,
            hour,
            all(&DAYS_OF_MONTH),
            all(&MONTHS),
            first(&DAYS_OF_WEEK),
        ),
        "@daily" | "@midnight" => Fields::new(
            minute,
            hour,
            all(&DAYS_OF_MONTH),
            all(&MONTHS),
            all(&DAYS_OF_WEEK),
        ),
        "@hourly" => Fields::new(
            minute,
            all(&HOURS),
            all(&DAYS_OF_MONTH),
            all(&MONTHS),
            all(&DAYS_OF_WEEK),
        ),
        _ => {
            let Some(duration) = descriptor.strip_prefix("@every ") else {
                return Err(format!("unrecognized descriptor: {descriptor}"));
            };
            let interval = parse_go_duration(duration)
                .map_err(|problem| format!("failed to parse duration {descriptor}: {problem}"))?;
            // robfig/cron's `Every` raises intervals under a second to one second and drops
            // fractions of a second.
            let seconds = interval.num_seconds().max(1);
            return Ok(Kind::Every(TimeDelta::seconds(seconds)));
        }
    };
    fields.map(Kind::Fields)
}

/// robfig/cron's `getField`: comma-separated ranges, empty ones skipped.
fn parse_field(field: &str, bounds: &Bounds) -> Result<u64, String> {
    field
        .split(',')
        .filter(|range| !range.is_empty())
        .try_fold(0, |acc, range| Ok(acc | parse_range(range, bounds)?))
}

/// robfig/cron's `getRange`: `*`, `?`, `N`, `N-M`, each with an optional `/step`.
fn parse_range(range: &str, bounds: &Bounds) -> Result<u64, String> {
    let range_and_step: Vec<&str> = range.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_and_high.len() == 1;

    let (start, mut end, mut extra) = if matches!(low_and_high[0], "*" | "?") {
        (bounds.min, bounds.max, STAR_BIT)
    } else {
        let start = parse_value(low_and_high[0], bounds)?;
        let end = match low_and_high.len() {
            1 => start,
            2 => parse_value(low_and_high[1], bounds)?,
            _ => return Err(format!("too many hyphens: {range}")),
        };
        (start, end, 0)
    };

    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = parse_int(range_and_step[1])?;
            if single {
                end = bounds.max;
            }
            if step > 1 {
                extra = 0;
            }
            step
        }
        _ => return Err(format!("too many slashes: {range}")),
    };

    if start < bounds.min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({}): {range}",
            bounds.min
        ));
    }
    if end > bounds.max {
        return Err(format!(
            "end of range ({end}) above maximum ({}): {range}{}",
            bounds.max, bounds.hint
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {range}"
        ));
    }
    if step == 0 {
        return Err(format!(
            "step of range should be a positive number: {range}"
        ));
    }
    Ok(bits(start, end, step) | extra)
}

fn parse_value(text: &str, bounds: &Bounds) -> Result<u32, String> {
    let lower = text.to_ascii_lowercase();
    if let Some((_, value)) = bounds.names.iter().find(|(name, _)| *name == lower) {
        return Ok(*value);
    }
    parse_int(text)
}

/// Go's `strconv.Atoi` as robfig/cron's `mustParseInt` uses it: optional sign, decimal digits.
fn parse_int(text: &str) -> Result<u32, String> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    let valid = !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit());
    if !valid {
        return Err(format!(
            "failed to parse int from {text}: strconv.Atoi: parsing \"{text}\": invalid syntax"
        ));
    }
    let Ok(value) = digits.parse::<i64>() else {
        return Err(format!(
            "failed to parse int from {text}: strconv.Atoi: parsing \"{text}\": value out of range"
        ));
    };
    let value = if text.starts_with('-') { -value } else { value };
    if value < 0 {
        return Err(format!("negative number ({value}) not allowed: {text}"));
    }
    // Values beyond any field's maximum fail the caller's range check, so saturating is safe.
    Ok(u32::try_from(value).unwrap_or(u32::MAX))
}

/// Bits `start..=end` taken every `step`.
fn bits(start: u32, end: u32, step: u32) -> u64 {
    (start..=end)
        .step_by(step as usize)
        .fold(0, |acc, value| acc | (1 << value))
}

/// Go's `time.ParseDuration`: a sequence of decimal numbers with units ns, us, µs, ms, s, m, h,
/// with an optional sign; `0` alone needs no unit.
pub(super) fn parse_go_duration(text: &str) -> Result<TimeDelta, String> {
    let invalid = || format!("time: invalid duration \"{text}\"");
    let (negative, mut rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if rest == "0" {
        return Ok(TimeDelta::zero());
    }
    if rest.is_empty() {
        return Err(invalid());
    }

    let mut total_nanos: f64 = 0.0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..number_end];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(invalid());
        }
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        let nanos_per_unit = match unit {
            "" => return Err(format!("time: missing unit in duration \"{text}\"")),
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => {
                return Err(format!(
                    "time: unknown unit \"{unit}\" in duration \"{text}\""
                ));
            }
        };
        let value: f64 = number.parse().map_err(|_| invalid())?;
        total_nanos += value * nanos_per_unit;
    }
    if total_nanos > i64::MAX as f64 {
        return Err(invalid());
    }
    let nanos = total_nanos as i64;
    Ok(TimeDelta::nanoseconds(if negative {
        -nanos
    } else {
        nanos
    }))
}
