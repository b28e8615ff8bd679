//! Instants computed by hand from the Kubernetes rules: robfig/cron v3 syntax, weekdays 0–6
//! from Sunday, either-day matching, and local time in `spec.timeZone`. Weekday anchors:
//! 2024-01-01, 2024-04-01 and 2024-07-01 were Mondays, 2024-09-01 a Sunday. In 2024 New York
//! moved from EST (UTC-5) to EDT (UTC-4) at 02:00 on 10 March and back at 02:00 on 3 November.

use chrono::{DateTime, TimeDelta, Utc};
use rstest::{Context, rstest};

use super::syntax::parse_go_duration;
use super::{ScheduleError, kubernetes_schedule};
use crate::assert::testing::{assert_message_snapshot, instant};

fn instants(expression: &str, time_zone: Option<&str>, after: &str, count: usize) -> Vec<String> {
    let schedule = kubernetes_schedule(expression, time_zone).unwrap();
    schedule
        .instants_after(instant(after))
        .take(count)
        .map(|found| found.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .collect()
}

#[rstest]
#[case::every_fifteen_minutes(
    "*/15 * * * *",
    None,
    "2024-01-01T00:07:00Z",
    &["2024-01-01T00:15:00Z", "2024-01-01T00:30:00Z",
      "2024-01-01T00:45:00Z", "2024-01-01T01:00:00Z"]
)]
#[case::weekdays_at_nine(
    "0 9 * * 1-5",
    None,
    "2024-01-05T10:00:00Z",
    &["2024-01-08T09:00:00Z", "2024-01-09T09:00:00Z"]
)]
#[case::sunday_as_zero(
    "0 0 * * 0",
    None,
    "2024-01-01T00:00:00Z",
    &["2024-01-07T00:00:00Z", "2024-01-14T00:00:00Z"]
)]
#[case::sunday_by_name(
    "0 0 * * SUN",
    None,
    "2024-01-01T00:00:00Z",
    &["2024-01-07T00:00:00Z", "2024-01-14T00:00:00Z"]
)]
#[case::name_in_lower_case(
    "0 0 * * sun",
    None,
    "2024-01-01T00:00:00Z",
    &["2024-01-07T00:00:00Z", "2024-01-14T00:00:00Z"]
)]
#[case::saturday_as_six(
    "0 0 * * 6",
    None,
    "2024-01-01T00:00:00Z",
    &["2024-01-06T00:00:00Z", "2024-01-13T00:00:00Z"]
)]
#[case::weekday_range_by_name(
    "30 8 * * MON-WED",
    None,
    "2024-01-03T09:00:00Z",
    &["2024-01-08T08:30:00Z", "2024-01-09T08:30:00Z",
      "2024-01-10T08:30:00Z", "2024-01-15T08:30:00Z"]
)]
#[case::weekend_list(
    "0 12 * * 0,6",
    None,
    "2024-01-01T00:00:00Z",
    &["2024-01-06T12:00:00Z", "2024-01-07T12:00:00Z"]
)]
#[case::hourly(
    "@hourly",
    None,
    "2024-01-01T00:30:00Z",
    &["2024-01-01T01:00:00Z", "2024-01-01T02:00:00Z"]
)]
#[case::daily(
    "@daily",
    None,
    "2024-01-01T00:00:00Z",
    &["2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"]
)]
#[case::midnight(
    "@midnight",
    None,
    "2024-01-01T00:00:00Z",
    &["2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"]
)]
#[case::weekly_on_sunday(
    "@weekly",
    None,
    "2024-01-01T00:00:00Z",
    &["2024-01-07T00:00:00Z", "2024-01-14T00:00:00Z"]
)]
#[case::monthly(
    "@monthly",
    None,
    "2024-01-15T00:00:00Z",
    &["2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"]
)]
#[case::yearly(
    "@yearly",
    None,
    "2024-06-01T00:00:00Z",
    &["2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"]
)]
#[case::annually(
    "@annually",
    None,
    "2024-06-01T00:00:00Z",
    &["2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"]
)]
#[case::day_of_month_or_weekday(
    "0 0 13 * 5",
    None,
    "2024-09-01T00:00:00Z",
    &["2024-09-06T00:00:00Z", "2024-09-13T00:00:00Z", "2024-09-20T00:00:00Z",
      "2024-09-27T00:00:00Z", "2024-10-04T00:00:00Z", "2024-10-11T00:00:00Z",
      "2024-10-13T00:00:00Z", "2024-10-18T00:00:00Z"]
)]
#[case::star_step_one_keeps_both(
    "0 0 */1 * 5",
    None,
    "2024-09-01T00:00:00Z",
    &["2024-09-06T00:00:00Z", "2024-09-13T00:00:00Z"]
)]
#[case::question_mark_keeps_both(
    "0 0 ? * 1",
    None,
    "2024-09-01T00:00:00Z",
    &["2024-09-02T00:00:00Z", "2024-09-09T00:00:00Z"]
)]
#[case::full_range_restricts(
    "0 0 1-31 * 5",
    None,
    "2024-09-01T00:00:00Z",
    &["2024-09-02T00:00:00Z", "2024-09-03T00:00:00Z"]
)]
#[case::star_step_two_restricts(
    "0 0 */2 * 5",
    None,
    "2024-09-01T00:00:00Z",
    &["2024-09-03T00:00:00Z", "2024-09-05T00:00:00Z", "2024-09-06T00:00:00Z",
      "2024-09-07T00:00:00Z", "2024-09-09T00:00:00Z"]
)]
#[case::month_names(
    "0 0 1 JAN,jul *",
    None,
    "2024-02-01T00:00:00Z",
    &["2024-07-01T00:00:00Z", "2025-01-01T00:00:00Z"]
)]
#[case::leap_day("0 0 29 2 *", None, "2024-03-01T00:00:00Z", &["2028-02-29T00:00:00Z"])]
#[case::range_with_step(
    "10-20/5 * * * *",
    None,
    "2024-01-01T00:00:00Z",
    &["2024-01-01T00:10:00Z", "2024-01-01T00:15:00Z",
      "2024-01-01T00:20:00Z", "2024-01-01T01:10:00Z"]
)]
#[case::start_with_step(
    "5/20 * * * *",
    None,
    "2024-01-01T00:00:00Z",
    &["2024-01-01T00:05:00Z", "2024-01-01T00:25:00Z",
      "2024-01-01T00:45:00Z", "2024-01-01T01:05:00Z"]
)]
#[case::step_beyond_range(
    "*/61 * * * *",
    None,
    "2024-01-01T00:00:00Z",
    &["2024-01-01T01:00:00Z", "2024-01-01T02:00:00Z"]
)]
#[case::hour_list(
    "0 6,18 * * *",
    None,
    "2024-01-01T07:00:00Z",
    &["2024-01-01T18:00:00Z", "2024-01-02T06:00:00Z"]
)]
#[case::berlin_winter(
    "0 9 * * *",
    Some("Europe/Berlin"),
    "2024-01-15T00:00:00Z",
    &["2024-01-15T08:00:00Z", "2024-01-16T08:00:00Z"]
)]
#[case::berlin_summer(
    "0 9 * * *",
    Some("Europe/Berlin"),
    "2024-07-15T00:00:00Z",
    &["2024-07-15T07:00:00Z"]
)]
#[case::weekday_in_local_time(
    "0 1 * * MON",
    Some("Asia/Tokyo"),
    "2024-01-01T00:00:00Z",
    &["2024-01-07T16:00:00Z", "2024-01-14T16:00:00Z"]
)]
#[case::spring_forward_skips_missing_time(
    "30 2 * * *",
    Some("America/New_York"),
    "2024-03-09T12:00:00Z",
    &["2024-03-11T06:30:00Z", "2024-03-12T06:30:00Z"]
)]
#[case::spring_forward_hourly(
    "0 * * * *",
    Some("America/New_York"),
    "2024-03-10T05:30:00Z",
    &["2024-03-10T06:00:00Z", "2024-03-10T07:00:00Z", "2024-03-10T08:00:00Z"]
)]
#[case::fall_back_repeats_time(
    "30 1 * * *",
    Some("America/New_York"),
    "2024-11-03T04:00:00Z",
    &["2024-11-03T05:30:00Z", "2024-11-03T06:30:00Z", "2024-11-04T06:30:00Z"]
)]
#[case::fall_back_in_order(
    "*/30 1 * * *",
    Some("America/New_York"),
    "2024-11-03T04:00:00Z",
    &["2024-11-03T05:00:00Z", "2024-11-03T05:30:00Z", "2024-11-03T06:00:00Z",
      "2024-11-03T06:30:00Z", "2024-11-04T06:00:00Z"]
)]
#[case::fall_back_from_repeated_hour(
    "*/30 1 * * *",
    Some("America/New_York"),
    "2024-11-03T05:40:00Z",
    &["2024-11-03T06:00:00Z", "2024-11-03T06:30:00Z", "2024-11-04T06:00:00Z"]
)]
#[case::every_interval(
    "@every 90s",
    None,
    "2024-01-01T00:00:00Z",
    &["2024-01-01T00:01:30Z", "2024-01-01T00:03:00Z", "2024-01-01T00:04:30Z"]
)]
#[case::every_from_fractional_second(
    "@every 1h30m",
    None,
    "2024-01-01T00:00:10.5Z",
    &["2024-01-01T01:30:10Z", "2024-01-01T03:00:10Z"]
)]
#[case::every_under_a_second(
    "@every 500ms",
    None,
    "2024-01-01T00:00:00Z",
    &["2024-01-01T00:00:01Z", "2024-01-01T00:00:02Z"]
)]
#[case::every_ignores_time_zone(
    "@every 1.5s",
    Some("Europe/Berlin"),
    "2024-01-01T00:00:00Z",
    &["2024-01-01T00:00:01Z", "2024-01-01T00:00:02Z"]
)]
fn schedule_gives_instants(
    #[case] expression: &str,
    #[case] time_zone: Option<&str>,
    #[case] after: &str,
    #[case] expected: &[&str],
) {
    assert_eq!(
        instants(expression, time_zone, after, expected.len()),
        expected
    );
}

#[rstest]
#[case::sunday_as_seven("0 0 * * 7", None)]
#[case::weekday_range_to_seven("0 0 * * 1-7", None)]
#[case::minute_too_high("61 * * * *", None)]
#[case::hour_too_high("0 24 * * *", None)]
#[case::day_of_month_zero("0 0 0 * *", None)]
#[case::month_thirteen("0 0 * 13 *", None)]
#[case::four_fields("* * * *", None)]
#[case::six_fields("0 * * * * *", None)]
#[case::empty("", None)]
#[case::reversed_range("5-1 * * * *", None)]
#[case::zero_step("*/0 * * * *", None)]
#[case::negative_step("*/-5 * * * *", None)]
#[case::too_many_hyphens("1-2-3 * * * *", None)]
#[case::too_many_slashes("*/5/2 * * * *", None)]
#[case::not_a_number("x * * * *", None)]
#[case::long_weekday_name("0 0 * * MONDAY", None)]
#[case::empty_field(", * * * *", None)]
#[case::unknown_descriptor("@reboot", None)]
#[case::every_unknown_unit("@every 1d", None)]
#[case::every_missing_unit("@every 10", None)]
#[case::time_zone_prefix("TZ=UTC 0 0 * * *", None)]
#[case::cron_time_zone_prefix("CRON_TZ=Europe/Berlin 0 9 * * *", None)]
#[case::unknown_time_zone("0 9 * * *", Some("Mars/Olympus_Mons"))]
#[case::empty_time_zone("0 9 * * *", Some(""))]
#[case::local_time_zone("0 9 * * *", Some("Local"))]
fn schedule_rejects(
    #[context] context: Context,
    #[case] expression: &str,
    #[case] time_zone: Option<&str>,
) {
    let error = kubernetes_schedule(expression, time_zone).unwrap_err();

    let is_time_zone_error = matches!(error, ScheduleError::InvalidTimeZone { .. });
    assert_eq!(is_time_zone_error, time_zone.is_some());
    assert_message_snapshot!(context, error.to_string());
}

#[rstest]
#[case::friday("0 0 13 * 5", None, "2024-09-06T00:00:00Z", true)]
#[case::thirteenth_on_sunday("0 0 13 * 5", None, "2024-10-13T00:00:00Z", true)]
#[case::neither_day("0 0 13 * 5", None, "2024-10-14T00:00:00Z", false)]
#[case::seconds_set("0 0 13 * 5", None, "2024-09-06T00:00:30Z", false)]
#[case::local_weekday("0 1 * * MON", Some("Asia/Tokyo"), "2024-01-07T16:00:00Z", true)]
#[case::utc_weekday_is_not_local("0 1 * * MON", Some("Asia/Tokyo"), "2024-01-08T01:00:00Z", false)]
#[case::repeated_hour_first("30 1 * * *", Some("America/New_York"), "2024-11-03T05:30:00Z", true)]
#[case::repeated_hour_second("30 1 * * *", Some("America/New_York"), "2024-11-03T06:30:00Z", true)]
#[case::before_origin("0 0 * * *", None, "2023-12-31T00:00:00Z", false)]
#[case::at_origin("0 0 * * *", None, "2024-01-01T00:00:00Z", false)]
#[case::every_multiple("@every 90s", None, "2024-01-01T00:04:30Z", true)]
#[case::every_between("@every 90s", None, "2024-01-01T00:04:00Z", false)]
fn schedule_is_instant(
    #[case] expression: &str,
    #[case] time_zone: Option<&str>,
    #[case] candidate: &str,
    #[case] expected: bool,
) {
    let schedule = kubernetes_schedule(expression, time_zone).unwrap();
    let origin = instant("2024-01-01T00:00:00Z");

    assert_eq!(schedule.is_instant(origin, instant(candidate)), expected);
}

/// Compares the merged `cron` crate instants with robfig/cron's matching rule checked minute by
/// minute, across either-day schedules and both clock changes.
#[rstest]
#[case::either_day("0 0 13 * 5", None, "2024-09-01T00:00:00Z", 45 * 24 * 60)]
#[case::weekday_hours("*/7 1-3 * * 1-5", None, "2024-01-05T00:00:00Z", 4 * 24 * 60)]
#[case::fall_back("*/20 0-3 * * *", Some("America/New_York"), "2024-11-02T20:00:00Z", 24 * 60)]
#[case::spring_forward("15 * * * *", Some("America/New_York"), "2024-03-09T20:00:00Z", 24 * 60)]
#[case::tokyo_mondays("0 9 * * MON", Some("Asia/Tokyo"), "2024-01-01T00:00:00Z", 8 * 24 * 60)]
fn instants_agree_with_minute_scan(
    #[case] expression: &str,
    #[case] time_zone: Option<&str>,
    #[case] start: &str,
    #[case] minutes: i64,
) {
    let schedule = kubernetes_schedule(expression, time_zone).unwrap();
    let start = instant(start);
    let end = start + TimeDelta::minutes(minutes);

    let scanned: Vec<DateTime<Utc>> = (1..=minutes)
        .map(|minute| start + TimeDelta::minutes(minute))
        .filter(|candidate| schedule.is_instant(start, *candidate))
        .collect();
    let enumerated: Vec<DateTime<Utc>> = schedule
        .instants_after(start)
        .take_while(|found| *found <= end)
        .collect();

    assert!(!scanned.is_empty());
    assert_eq!(enumerated, scanned);
}

/// The `cron` crate requires both day fields to match, which is why either-day schedules are
/// translated into two `cron` schedules: Friday the 13th instead of every Friday and every 13th.
#[test]
fn cron_crate_requires_both_days() {
    use std::str::FromStr;
    let friday_thirteenth = ::cron::Schedule::from_str("0 0 0 13 * 6").unwrap();

    let found: Vec<String> = friday_thirteenth
        .after(&instant("2024-09-01T00:00:00Z"))
        .take(2)
        .map(|found| found.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .collect();

    assert_eq!(found, ["2024-09-13T00:00:00Z", "2024-12-13T00:00:00Z"]);
    assert_eq!(
        instants("0 0 13 * 5", None, "2024-09-01T00:00:00Z", 2),
        ["2024-09-06T00:00:00Z", "2024-09-13T00:00:00Z"]
    );
}

#[rstest]
#[case::seconds("90s", 90)]
#[case::hours_and_minutes("1h30m", 5400)]
#[case::fraction("1.5h", 5400)]
#[case::zero("0", 0)]
#[case::milliseconds("2500ms", 2)]
#[case::plus_sign("+2m", 120)]
fn go_duration_parses(#[case] text: &str, #[case] seconds: i64) {
    assert_eq!(parse_go_duration(text).unwrap().num_seconds(), seconds);
}

#[rstest]
#[case::empty("")]
#[case::no_unit("5")]
#[case::unknown_unit("3d")]
#[case::lone_dot(".s")]
fn go_duration_rejects(#[case] text: &str) {
    assert!(parse_go_duration(text).is_err());
}
