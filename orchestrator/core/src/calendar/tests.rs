//! Calendar tests over 2024–2032: the shipped holidays against their rules, short months,
//! leap years, weekends, holidays, DST nights, cron nights, and located parse errors.

use chrono::{Datelike, Days, NaiveDate, NaiveTime, TimeDelta, TimeZone, Weekday};
use chrono_tz::America::New_York;
use chrono_tz::Tz;
use proptest::prelude::*;

use super::*;
use crate::diagnostics::{FileId, SourceMap, render_text};

const US_FEDERAL: &str = include_str!("../../../../workflows/calendars/us-federal.yaml");

fn us() -> Calendar {
    Calendar::parse(FileId(0), US_FEDERAL).expect("the shipped calendar parses")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("valid time")
}

fn cron(expression: &str) -> croner::Cron {
    expression.parse().expect("valid cron")
}

// ---------------------------------------------------------------------------------------------
// The shipped US federal calendar

/// The federal holidays whose observed date falls in `year`, recomputed from their rules
/// (5 U.S.C. 6103 and OPM's observance rules) independently of the shipped file. A fixed-date
/// holiday on a Saturday is observed the Friday before, on a Sunday the Monday after, and
/// then named "... (observed)"; New Year's Day of `year + 1` may be observed on December 31st.
fn federal_holidays(year: i32) -> Vec<(NaiveDate, String)> {
    let nth = |y: i32, month: u32, weekday: Weekday, n: u8| {
        NaiveDate::from_weekday_of_month_opt(y, month, weekday, n).expect("exists")
    };
    let last_monday_of_may = |y: i32| {
        (25..=31)
            .map(|d| date(y, 5, d))
            .rfind(|d| d.weekday() == Weekday::Mon)
            .expect("a Monday in May's last week")
    };
    let fixed = |d: NaiveDate, name: &str| match d.weekday() {
        Weekday::Sat => (d - TimeDelta::days(1), format!("{name} (observed)")),
        Weekday::Sun => (d + TimeDelta::days(1), format!("{name} (observed)")),
        _ => (d, name.to_string()),
    };
    let mut days = Vec::new();
    for y in [year, year + 1] {
        days.extend([
            fixed(date(y, 1, 1), "New Year's Day"),
            (
                nth(y, 1, Weekday::Mon, 3),
                "Birthday of Martin Luther King, Jr.".into(),
            ),
            (nth(y, 2, Weekday::Mon, 3), "Washington's Birthday".into()),
            (last_monday_of_may(y), "Memorial Day".into()),
            fixed(date(y, 6, 19), "Juneteenth National Independence Day"),
            fixed(date(y, 7, 4), "Independence Day"),
            (nth(y, 9, Weekday::Mon, 1), "Labor Day".into()),
            (nth(y, 10, Weekday::Mon, 2), "Columbus Day".into()),
            fixed(date(y, 11, 11), "Veterans Day"),
            (nth(y, 11, Weekday::Thu, 4), "Thanksgiving Day".into()),
            fixed(date(y, 12, 25), "Christmas Day"),
        ]);
    }
    days.retain(|(d, _)| d.year() == year);
    days.sort();
    days
}

#[test]
fn shipped_holidays_match_the_rules_2024_to_2032() {
    let calendar = us();
    assert_eq!(calendar.name(), "us-federal");
    assert_eq!(calendar.covered_years(), Some(2024..=2032));
    let shipped: Vec<(NaiveDate, String)> = calendar
        .holidays()
        .map(|(d, n)| (d, n.to_string()))
        .collect();
    let expected: Vec<(NaiveDate, String)> = (2024..=2032).flat_map(federal_holidays).collect();
    assert_eq!(shipped, expected);
    // Spot checks against OPM's published tables.
    assert_eq!(
        calendar.holiday(date(2027, 12, 31)),
        Some("New Year's Day (observed)")
    );
    assert_eq!(
        calendar.holiday(date(2028, 1, 1)),
        None,
        "a Saturday; observed the day before"
    );
    assert_eq!(
        calendar.holiday(date(2026, 7, 3)),
        Some("Independence Day (observed)")
    );
    assert_eq!(
        calendar.holiday(date(2028, 11, 10)),
        Some("Veterans Day (observed)")
    );
    assert_eq!(
        calendar.holiday(date(2025, 11, 27)),
        Some("Thanksgiving Day")
    );
    assert_eq!(
        calendar.holiday(date(2025, 1, 20)),
        Some("Birthday of Martin Luther King, Jr.")
    );
    assert_eq!(calendar.holiday(date(2030, 5, 27)), Some("Memorial Day"));
    for year in 2024..=2032 {
        let in_year = calendar
            .holidays()
            .filter(|(d, _)| d.year() == year)
            .count();
        let expected = match year {
            2027 | 2032 => 12, // New Year's Day of 2028 / 2033 observed on December 31st
            2028 => 10,
            _ => 11,
        };
        assert_eq!(in_year, expected, "{year}");
    }
    for (d, name) in calendar.holidays() {
        assert!(
            calendar.is_business_weekday(d.weekday()),
            "{d} {name} falls on a weekend"
        );
    }
}

#[test]
fn business_days_skip_weekends_and_holidays() {
    let calendar = us();
    assert!(calendar.is_business_day(date(2025, 3, 3)));
    assert!(!calendar.is_business_day(date(2025, 3, 1)), "Saturday");
    assert!(
        !calendar.is_business_day(date(2025, 7, 4)),
        "Independence Day"
    );
    assert_eq!(
        calendar.previous_business_day(date(2025, 7, 6)),
        date(2025, 7, 3)
    );
    assert_eq!(
        calendar.next_business_day(date(2025, 7, 4)),
        date(2025, 7, 7)
    );
    assert_eq!(
        calendar.next_business_day(date(2025, 7, 7)),
        date(2025, 7, 7),
        "on or after"
    );
    assert_eq!(
        calendar.previous_business_day(date(2025, 7, 7)),
        date(2025, 7, 7),
        "on or before"
    );
    // Christmas and New Year's Day 2028 both observed on Fridays.
    assert_eq!(
        calendar.next_business_day(date(2027, 12, 24)),
        date(2027, 12, 27)
    );
    assert_eq!(
        calendar.previous_business_day(date(2028, 1, 2)),
        date(2027, 12, 30)
    );
    assert_eq!(
        calendar.next_business_day(date(2027, 12, 31)),
        date(2028, 1, 3)
    );

    let plain = Calendar::weekdays_only("weekdays");
    assert_eq!(plain.name(), "weekdays");
    assert_eq!(plain.covered_years(), None);
    assert!(plain.is_business_day(date(2025, 7, 4)), "no holidays");
    assert!(!plain.is_business_day(date(2025, 7, 5)));
    assert_eq!(plain.holiday(date(2025, 7, 4)), None);
}

#[test]
fn business_day_searches_end_for_odd_calendars_and_at_the_range_edges() {
    // Only Mondays are business days, and five Mondays in a row are holidays.
    let text = "name: mondays\nbusiness_days: [monday]\nholidays:\n  - { date: 2025-03-03, name: a }\n  - { date: 2025-03-10, name: b }\n  - { date: 2025-03-17, name: c }\n  - { date: 2025-03-24, name: d }\n  - { date: 2025-03-31, name: e }\n";
    let calendar = Calendar::parse(FileId(0), text).expect("valid");
    assert_eq!(
        calendar.next_business_day(date(2025, 3, 1)),
        date(2025, 4, 7)
    );
    assert_eq!(
        calendar.previous_business_day(date(2025, 4, 6)),
        date(2025, 2, 24)
    );
    // At the ends of chrono's date range there may be nothing to find: the date itself.
    let only = |weekday: Weekday| {
        let text = format!(
            "name: one\nbusiness_days: [{}]\n",
            format!("{weekday:?}").to_lowercase()
        );
        Calendar::parse(FileId(0), &text).expect("valid")
    };
    let after_max = only(NaiveDate::MAX.weekday().succ());
    assert_eq!(after_max.next_business_day(NaiveDate::MAX), NaiveDate::MAX);
    assert_eq!(
        after_max.previous_business_day(NaiveDate::MAX),
        NaiveDate::MAX - Days::new(6)
    );
    let before_min = only(NaiveDate::MIN.weekday().pred());
    assert_eq!(
        before_min.previous_business_day(NaiveDate::MIN),
        NaiveDate::MIN
    );
    assert_eq!(
        before_min.next_business_day(NaiveDate::MIN),
        NaiveDate::MIN + Days::new(6)
    );
}

// ---------------------------------------------------------------------------------------------
// The month-end rule

const ADJUSTMENTS: [NonBusinessStart; 3] = [
    NonBusinessStart::Previous,
    NonBusinessStart::Next,
    NonBusinessStart::Keep,
];
const SPACINGS: [NightSpacing; 2] = [NightSpacing::Calendar, NightSpacing::Business];

fn rule(adjust: NonBusinessStart, spacing: NightSpacing) -> MonthEndRule {
    MonthEndRule {
        start_day: 28,
        when_not_business_day: adjust,
        nights: 3,
        spacing,
    }
}

/// Asserts the three nights for each (adjustment, spacing) pair, in the order
/// Previous, Next, Keep × Calendar, Business.
fn assert_month(calendar: &Calendar, year: i32, month: u32, expected: [[[(u32, u32); 3]; 2]; 3]) {
    for (adjust, rows) in ADJUSTMENTS.iter().zip(expected) {
        for (spacing, nights) in SPACINGS.iter().zip(rows) {
            let want: Vec<NaiveDate> = nights.iter().map(|(m, d)| date(year, *m, *d)).collect();
            assert_eq!(
                rule(*adjust, *spacing).nights(calendar, year, month),
                want,
                "{year}-{month:02} {adjust:?} {spacing:?}"
            );
        }
    }
}

#[test]
fn month_end_in_february() {
    let calendar = us();
    // 2025 (not a leap year; the 28th is a Friday): the case study's crisis nights.
    let calendar_nights = [(2, 28), (3, 1), (3, 2)];
    let business_nights = [(2, 28), (3, 3), (3, 4)];
    assert_month(&calendar, 2025, 2, [[calendar_nights, business_nights]; 3]);
    // 2024 (leap year; the 28th is a Wednesday): the 29th is a night of the cycle.
    let nights = [(2, 28), (2, 29), (3, 1)];
    assert_month(&calendar, 2024, 2, [[nights, nights]; 3]);
    // 2026: the 28th is a Saturday; `next` starts in March.
    assert_month(
        &calendar,
        2026,
        2,
        [
            [[(2, 27), (2, 28), (3, 1)], [(2, 27), (3, 2), (3, 3)]],
            [[(3, 2), (3, 3), (3, 4)], [(3, 2), (3, 3), (3, 4)]],
            [[(2, 28), (3, 1), (3, 2)], [(2, 28), (3, 2), (3, 3)]],
        ],
    );
}

#[test]
fn month_end_when_the_28th_is_a_weekend() {
    let calendar = us();
    // 2025-06-28 is a Saturday.
    assert_month(
        &calendar,
        2025,
        6,
        [
            [[(6, 27), (6, 28), (6, 29)], [(6, 27), (6, 30), (7, 1)]],
            [[(6, 30), (7, 1), (7, 2)], [(6, 30), (7, 1), (7, 2)]],
            [[(6, 28), (6, 29), (6, 30)], [(6, 28), (6, 30), (7, 1)]],
        ],
    );
    // 2025-09-28 is a Sunday.
    assert_month(
        &calendar,
        2025,
        9,
        [
            [[(9, 26), (9, 27), (9, 28)], [(9, 26), (9, 29), (9, 30)]],
            [[(9, 29), (9, 30), (10, 1)], [(9, 29), (9, 30), (10, 1)]],
            [[(9, 28), (9, 29), (9, 30)], [(9, 28), (9, 29), (9, 30)]],
        ],
    );
}

#[test]
fn month_end_when_the_28th_is_a_holiday() {
    let calendar = us();
    // Thanksgiving is Thursday the 28th in 2024 and in 2030; Friday the 29th is a business
    // day, then the weekend.
    for year in [2024, 2030] {
        assert_eq!(
            calendar.holiday(date(year, 11, 28)),
            Some("Thanksgiving Day")
        );
        assert_month(
            &calendar,
            year,
            11,
            [
                [
                    [(11, 27), (11, 28), (11, 29)],
                    [(11, 27), (11, 29), (12, 2)],
                ],
                [[(11, 29), (11, 30), (12, 1)], [(11, 29), (12, 2), (12, 3)]],
                [
                    [(11, 28), (11, 29), (11, 30)],
                    [(11, 28), (11, 29), (12, 2)],
                ],
            ],
        );
    }
}

#[test]
fn month_end_start_day_is_clamped_to_short_months() {
    let calendar = us();
    let day = |start_day, year, month| {
        MonthEndRule {
            start_day,
            ..rule(NonBusinessStart::Keep, NightSpacing::Calendar)
        }
        .nights(&calendar, year, month)[0]
    };
    assert_eq!(day(31, 2025, 4), date(2025, 4, 30), "April has 30 days");
    assert_eq!(day(31, 2025, 2), date(2025, 2, 28));
    assert_eq!(day(30, 2024, 2), date(2024, 2, 29), "leap year");
    assert_eq!(day(31, 2025, 12), date(2025, 12, 31));
    assert_eq!(day(99, 2025, 11), date(2025, 11, 30));
    assert_eq!(day(0, 2025, 3), date(2025, 3, 1), "0 reads as the 1st");
    // Clamped first, then adjusted: 2025-11-30 is a Sunday.
    let previous = MonthEndRule {
        start_day: 31,
        ..rule(NonBusinessStart::Previous, NightSpacing::Business)
    };
    assert_eq!(
        previous.nights(&calendar, 2025, 11),
        [date(2025, 11, 28), date(2025, 12, 1), date(2025, 12, 2)]
    );
}

#[test]
fn month_end_odd_inputs_do_not_panic() {
    let calendar = us();
    let base = rule(NonBusinessStart::Previous, NightSpacing::Business);
    assert!(
        MonthEndRule { nights: 0, ..base }
            .nights(&calendar, 2025, 2)
            .is_empty()
    );
    assert!(base.nights(&calendar, 2025, 0).is_empty());
    assert!(base.nights(&calendar, 2025, 13).is_empty());
    assert!(base.nights(&calendar, i32::MAX, 1).is_empty());
    let many = MonthEndRule {
        nights: u32::MAX,
        ..base
    }
    .nights(&calendar, 2025, 2);
    assert_eq!(many.len(), MonthEndRule::MAX_NIGHTS as usize);
    assert!(many.windows(2).all(|w| w[0] < w[1]));
    // The very end of chrono's range: cut short, never repeated.
    let last = NaiveDate::MAX;
    for spacing in SPACINGS {
        let nights = MonthEndRule {
            nights: 5,
            spacing,
            ..base
        }
        .nights(&calendar, last.year(), 12);
        assert!(!nights.is_empty() && nights.len() <= 5, "{nights:?}");
        assert!(nights.windows(2).all(|w| w[0] < w[1]));
    }
}

/// Every month of 2024–2032, start day 28, all adjustments and spacings.
#[test]
fn month_end_every_month_2024_to_2032() {
    let calendar = us();
    for year in 2024..=2032 {
        for month in 1..=12 {
            let nominal = date(year, month, 28);
            let next_month = date(year, month, 1)
                .checked_add_months(chrono::Months::new(1))
                .expect("in range");
            for adjust in ADJUSTMENTS {
                for spacing in SPACINGS {
                    let nights = rule(adjust, spacing).nights(&calendar, year, month);
                    let what = format!("{year}-{month:02} {adjust:?} {spacing:?}: {nights:?}");
                    assert_eq!(nights.len(), 3, "{what}");
                    assert!(nights.windows(2).all(|w| w[0] < w[1]), "{what}");
                    let first = nights[0];
                    // Within the month, or the first days of the next.
                    assert!(first >= date(year, month, 20), "{what}");
                    assert!(first < next_month + Days::new(7), "{what}");
                    match adjust {
                        NonBusinessStart::Keep => assert_eq!(first, nominal, "{what}"),
                        NonBusinessStart::Previous => {
                            assert!(
                                calendar.is_business_day(first) && first <= nominal,
                                "{what}"
                            );
                            assert!(
                                first
                                    .iter_days()
                                    .skip(1)
                                    .take_while(|d| *d <= nominal)
                                    .all(|d| !calendar.is_business_day(d)),
                                "the latest business day: {what}"
                            );
                        }
                        NonBusinessStart::Next => {
                            assert!(
                                calendar.is_business_day(first) && first >= nominal,
                                "{what}"
                            );
                            assert!(
                                nominal
                                    .iter_days()
                                    .take_while(|d| *d < first)
                                    .all(|d| !calendar.is_business_day(d)),
                                "the earliest business day: {what}"
                            );
                        }
                    }
                    if calendar.is_business_day(nominal) {
                        assert_eq!(first, nominal, "a business day is kept: {what}");
                    }
                    for pair in nights.windows(2) {
                        match spacing {
                            NightSpacing::Calendar => {
                                assert_eq!(pair[0].succ_opt(), Some(pair[1]), "{what}")
                            }
                            NightSpacing::Business => {
                                assert!(calendar.is_business_day(pair[1]), "{what}");
                                assert!(
                                    pair[0]
                                        .iter_days()
                                        .skip(1)
                                        .take_while(|d| *d < pair[1])
                                        .all(|d| !calendar.is_business_day(d)),
                                    "no business day skipped: {what}"
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

proptest! {
    #[test]
    fn month_end_nights_are_well_formed(
        year in 2024i32..=2032,
        month in 1u32..=12,
        start_day in 0u32..=40,
        nights in 0u32..=10,
        adjust in 0usize..3,
        business in any::<bool>(),
    ) {
        let calendar = us();
        let adjust = ADJUSTMENTS[adjust];
        let spacing = if business { NightSpacing::Business } else { NightSpacing::Calendar };
        let r = MonthEndRule { start_day, when_not_business_day: adjust, nights, spacing };
        let dates = r.nights(&calendar, year, month);
        prop_assert_eq!(dates.len(), nights as usize);
        prop_assert!(dates.windows(2).all(|w| w[0] < w[1]), "strictly increasing: {:?}", dates);
        if let Some(first) = dates.first() {
            let first_of_month = date(year, month, 1);
            prop_assert!(*first >= first_of_month - TimeDelta::days(7), "{:?}", dates);
            prop_assert!(*first <= first_of_month + TimeDelta::days(38), "{:?}", dates);
            if adjust != NonBusinessStart::Keep {
                prop_assert!(calendar.is_business_day(*first), "{:?}", dates);
            }
        }
        if business {
            prop_assert!(dates.iter().skip(1).all(|d| calendar.is_business_day(*d)), "{:?}", dates);
        }
    }

    #[test]
    fn month_end_never_panics(year in any::<i32>(), month in any::<u32>(), start_day in any::<u32>(), nights in 0u32..=40, adjust in 0usize..3, business in any::<bool>()) {
        let spacing = if business { NightSpacing::Business } else { NightSpacing::Calendar };
        let r = MonthEndRule { start_day, when_not_business_day: ADJUSTMENTS[adjust], nights, spacing };
        let dates = r.nights(&Calendar::weekdays_only("w"), year, month);
        prop_assert!(dates.len() <= nights as usize);
    }
}

// ---------------------------------------------------------------------------------------------
// Local times and windows across daylight saving time

fn utc(instant: chrono::DateTime<chrono::Utc>) -> String {
    instant.format("%Y-%m-%d %H:%M").to_string()
}

#[test]
fn windows_across_daylight_saving_time() {
    let w = |night| night_window(New_York, night, time(20, 0), time(6, 0)).duration();
    assert_eq!(
        w(date(2025, 11, 1)),
        TimeDelta::hours(11),
        "DST ends on the morning of Nov 2"
    );
    assert_eq!(
        w(date(2025, 3, 8)),
        TimeDelta::hours(9),
        "DST starts on the morning of Mar 9"
    );
    assert_eq!(w(date(2025, 3, 10)), TimeDelta::hours(10));
    assert_eq!(
        w(date(2025, 11, 2)),
        TimeDelta::hours(10),
        "the night after DST ends"
    );
    assert_eq!(w(date(2025, 7, 1)), TimeDelta::hours(10));
    for year in 2024..=2032 {
        let sunday =
            NaiveDate::from_weekday_of_month_opt(year, 11, Weekday::Sun, 1).expect("exists");
        let march = NaiveDate::from_weekday_of_month_opt(year, 3, Weekday::Sun, 2).expect("exists");
        for night in date(year, 1, 1)
            .iter_days()
            .take_while(|d| d.year() == year)
        {
            let expected = if night == sunday - Days::new(1) {
                11
            } else if night == march - Days::new(1) {
                9
            } else {
                10
            };
            assert_eq!(w(night), TimeDelta::hours(expected), "night of {night}");
        }
    }
    let window = night_window(New_York, date(2025, 11, 1), time(20, 0), time(6, 0));
    assert_eq!(utc(window.opens), "2025-11-02 00:00", "20:00 EDT");
    assert_eq!(utc(window.closes), "2025-11-02 11:00", "06:00 EST");
}

#[test]
fn window_edges() {
    // A window closing at the time it opens lasts until the next day: 23 hours across the
    // spring-forward night.
    let full = night_window(New_York, date(2025, 3, 8), time(20, 0), time(20, 0));
    assert_eq!(full.duration(), TimeDelta::hours(23));
    // Same-day window.
    let day = night_window(New_York, date(2025, 3, 8), time(8, 0), time(17, 30));
    assert_eq!(day.duration(), TimeDelta::minutes(570));
    // Opening inside the gap (02:30 becomes 03:30 EDT) and closing at 03:15 EDT: empty,
    // never negative.
    let swallowed = night_window(New_York, date(2025, 3, 9), time(2, 30), time(3, 15));
    assert_eq!(swallowed.duration(), TimeDelta::zero());
    assert_eq!(swallowed.opens, swallowed.closes);
    // 01:00–02:30 on the spring-forward morning: 02:30 is 03:30 EDT, one real hour later.
    let across = night_window(New_York, date(2025, 3, 9), time(1, 0), time(2, 30));
    assert_eq!(across.duration(), TimeDelta::minutes(90));
    // The last date chrono knows: the window closes on it instead of overflowing.
    let edge = night_window(New_York, NaiveDate::MAX, time(20, 0), time(6, 0));
    assert!(edge.duration() >= TimeDelta::zero());
}

#[test]
fn local_times_in_gaps_and_overlaps() {
    // 02:30 does not exist on 2025-03-09 in New York: it becomes 03:30 EDT (07:30 UTC).
    let gap = local_instant(New_York, date(2025, 3, 9), time(2, 30));
    assert_eq!(utc(gap), "2025-03-09 07:30");
    assert_eq!(
        gap.with_timezone(&New_York).format("%H:%M %Z").to_string(),
        "03:30 EDT"
    );
    // 02:00, the first missing minute, becomes 03:00 EDT; 03:00 itself is 03:00 EDT.
    assert_eq!(
        utc(local_instant(New_York, date(2025, 3, 9), time(2, 0))),
        "2025-03-09 07:00"
    );
    assert_eq!(
        utc(local_instant(New_York, date(2025, 3, 9), time(3, 0))),
        "2025-03-09 07:00"
    );
    // 01:30 happens twice on 2025-11-02: the earlier (EDT, 05:30 UTC) is taken.
    let twice = local_instant(New_York, date(2025, 11, 2), time(1, 30));
    assert_eq!(utc(twice), "2025-11-02 05:30");
    assert_eq!(
        twice
            .with_timezone(&New_York)
            .format("%H:%M %Z")
            .to_string(),
        "01:30 EDT"
    );
    // An ordinary winter evening: 20:00 EST is 01:00 UTC the next day.
    assert_eq!(
        utc(local_instant(New_York, date(2025, 2, 28), time(20, 0))),
        "2025-03-01 01:00"
    );
    // Lord Howe's half-hour gap: 02:15 becomes 02:45 (+11).
    let lord_howe = local_instant(
        chrono_tz::Australia::Lord_Howe,
        date(2025, 10, 5),
        time(2, 15),
    );
    assert_eq!(
        lord_howe
            .with_timezone(&chrono_tz::Australia::Lord_Howe)
            .format("%m-%d %H:%M")
            .to_string(),
        "10-05 02:45"
    );
    // Samoa skipped 2011-12-30 entirely: noon that day is noon the next (+14).
    let samoa = local_instant(chrono_tz::Pacific::Apia, date(2011, 12, 30), time(12, 0));
    assert_eq!(utc(samoa), "2011-12-30 22:00");
    // Samoa's DST at +13/+14: offsets east of UTC still move forward, not back.
    let apia = local_instant(chrono_tz::Pacific::Apia, date(2012, 9, 30), time(3, 30));
    assert_eq!(
        apia.with_timezone(&chrono_tz::Pacific::Apia)
            .format("%H:%M")
            .to_string(),
        "04:30"
    );
    // Zones west of UTC: Santiago's spring-forward at midnight (2024-09-08 00:00 → 01:00).
    let santiago = local_instant(chrono_tz::America::Santiago, date(2024, 9, 8), time(0, 30));
    assert_eq!(
        santiago
            .with_timezone(&chrono_tz::America::Santiago)
            .format("%d %H:%M")
            .to_string(),
        "08 01:30"
    );
}

#[test]
fn local_instant_at_the_edges_of_the_date_range_in_every_zone() {
    let last = NaiveTime::from_hms_opt(23, 59, 59).expect("valid");
    for tz in chrono_tz::TZ_VARIANTS {
        for d in [NaiveDate::MIN, NaiveDate::MAX] {
            for t in [NaiveTime::MIN, last] {
                let _ = local_instant(tz, d, t);
                let _ = night_window(tz, d, t, NaiveTime::MIN);
            }
        }
    }
}

proptest! {
    /// Existing times map to themselves, repeated times to the earlier instant, and missing
    /// times forward by less than a day, in every zone.
    #[test]
    fn local_instant_rules_hold_everywhere(
        zone in 0usize..chrono_tz::TZ_VARIANTS.len(),
        day in 0i64..(200 * 366),
        seconds in 0u32..86_400,
    ) {
        let tz: Tz = chrono_tz::TZ_VARIANTS[zone];
        let d = date(1900, 1, 1) + TimeDelta::days(day);
        let t = NaiveTime::from_num_seconds_from_midnight_opt(seconds, 0).expect("valid");
        let naive = d.and_time(t);
        let got = local_instant(tz, d, t);
        match tz.from_local_datetime(&naive) {
            chrono::LocalResult::Single(x) => prop_assert_eq!(got, x.to_utc()),
            chrono::LocalResult::Ambiguous(a, b) => prop_assert_eq!(got, a.to_utc().min(b.to_utc())),
            chrono::LocalResult::None => {
                let shown = got.with_timezone(&tz).naive_local();
                prop_assert!(shown > naive && shown <= naive + TimeDelta::days(1), "{} shown as {}", naive, shown);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cron nights

#[test]
fn cron_fires_on_weekdays_only() {
    let weekdays = cron("0 23 * * 1-5");
    let fires = cron_fires_on(&weekdays, New_York, date(2025, 3, 4)).expect("fires on a Tuesday");
    assert_eq!(utc(fires), "2025-03-05 04:00", "23:00 EST");
    let summer = cron_fires_on(&weekdays, New_York, date(2025, 7, 8)).expect("fires on a Tuesday");
    assert_eq!(utc(summer), "2025-07-09 03:00", "23:00 EDT");
    assert_eq!(
        cron_fires_on(&weekdays, New_York, date(2025, 3, 1)),
        None,
        "Saturday"
    );
    assert_eq!(
        cron_fires_on(&weekdays, New_York, date(2025, 3, 2)),
        None,
        "Sunday"
    );
    // The first firing of the day.
    let twice = cron_fires_on(&cron("0 9,23 * * *"), New_York, date(2025, 3, 4)).expect("fires");
    assert_eq!(utc(twice), "2025-03-04 14:00", "09:00 EST");
    // Midnight belongs to its own date.
    let midnight = cron_fires_on(&cron("0 0 * * *"), New_York, date(2025, 3, 9)).expect("fires");
    assert_eq!(utc(midnight), "2025-03-09 05:00");
    // A firing inside the spring-forward gap runs when the gap ends (croner's rule).
    let gap = cron_fires_on(&cron("30 2 * * *"), New_York, date(2025, 3, 9)).expect("fires");
    assert_eq!(utc(gap), "2025-03-09 07:00", "03:00 EDT");
    // A repeated time fires at its first occurrence.
    let repeated = cron_fires_on(&cron("30 1 * * *"), New_York, date(2025, 11, 2)).expect("fires");
    assert_eq!(utc(repeated), "2025-11-02 05:30", "01:30 EDT");
    // Never-firing expressions, and dates croner cannot reach.
    assert_eq!(
        cron_fires_on(&cron("0 0 30 2 *"), New_York, date(2025, 2, 28)),
        None
    );
    assert_eq!(cron_fires_on(&weekdays, New_York, NaiveDate::MAX), None);
    assert_eq!(cron_fires_on(&weekdays, New_York, NaiveDate::MIN), None);
}

#[test]
fn nearest_cron_nights_skip_weekends_and_holidays() {
    let weekdays = cron("0 23 * * 1-5");
    let calendar = us();
    let nearest =
        |business_only, d| nearest_cron_nights(&weekdays, New_York, &calendar, business_only, d);
    // A Saturday.
    assert_eq!(
        nearest(true, date(2025, 3, 1)),
        (Some(date(2025, 2, 28)), Some(date(2025, 3, 3)))
    );
    // The date itself is excluded, even when it runs.
    assert_eq!(
        nearest(true, date(2025, 3, 4)),
        (Some(date(2025, 3, 3)), Some(date(2025, 3, 5)))
    );
    // Thanksgiving 2025 (Thursday Nov 27) is skipped when business days only...
    assert_eq!(
        nearest(true, date(2025, 11, 26)),
        (Some(date(2025, 11, 25)), Some(date(2025, 11, 28)))
    );
    // ...and not otherwise.
    assert_eq!(
        nearest(false, date(2025, 11, 26)),
        (Some(date(2025, 11, 25)), Some(date(2025, 11, 27)))
    );
    // Christmas and New Year's Day 2028, both observed on Fridays in 2027.
    assert_eq!(
        nearest(true, date(2027, 12, 23)),
        (Some(date(2027, 12, 22)), Some(date(2027, 12, 27)))
    );
    assert_eq!(
        nearest(true, date(2027, 12, 31)),
        (Some(date(2027, 12, 30)), Some(date(2028, 1, 3)))
    );
    assert_eq!(
        nearest(true, date(2028, 1, 3)),
        (Some(date(2027, 12, 30)), Some(date(2028, 1, 4)))
    );
}

#[test]
fn nearest_cron_nights_search_at_most_400_days() {
    let calendar = Calendar::weekdays_only("w");
    // Never fires: one search each way, not one per day.
    let never = cron("0 0 30 2 *");
    assert_eq!(
        nearest_cron_nights(&never, New_York, &calendar, true, date(2025, 3, 1)),
        (None, None)
    );
    // Leap days only.
    let leap_day = cron("0 0 29 2 *");
    let leap = date(2024, 2, 29);
    let nearest = |d| nearest_cron_nights(&leap_day, New_York, &calendar, false, d);
    assert_eq!(
        nearest(date(2025, 3, 1)),
        (Some(leap), None),
        "2028-02-29 is too far"
    );
    assert_eq!(nearest(date(2027, 6, 1)), (None, Some(date(2028, 2, 29))));
    let edge = leap + Days::new(NEAREST_SEARCH_DAYS);
    assert_eq!(nearest(edge).0, Some(leap), "exactly 400 days back");
    assert_eq!(nearest(edge + Days::new(1)).0, None, "401 days back");
    // A leap day that is not a business day is skipped: 2032-02-29 is a Sunday.
    let business = nearest_cron_nights(&leap_day, New_York, &calendar, true, date(2031, 6, 1));
    assert_eq!(business, (None, None));
    // The ends of the date range.
    let every = cron("0 23 * * *");
    let _ = nearest_cron_nights(&every, New_York, &calendar, true, NaiveDate::MAX);
    let _ = nearest_cron_nights(&every, New_York, &calendar, true, NaiveDate::MIN);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// The nearest runs are runs, on the right side, and nothing between them and the date runs.
    #[test]
    fn nearest_cron_nights_are_the_nearest(
        day in 0i64..(9 * 365),
        expression in 0usize..3,
        business_only in any::<bool>(),
    ) {
        let calendar = us();
        let expression = ["0 23 * * 1-5", "15 6 * * 0,3", "0 22 1,15 * *"][expression];
        let c = cron(expression);
        let d = date(2024, 1, 1) + TimeDelta::days(day);
        let runs = |x: NaiveDate| {
            cron_fires_on(&c, New_York, x).is_some() && (!business_only || calendar.is_business_day(x))
        };
        let (before, after) = nearest_cron_nights(&c, New_York, &calendar, business_only, d);
        let before = before.expect("a run within 400 days before");
        let after = after.expect("a run within 400 days after");
        prop_assert!(before < d && d < after);
        prop_assert!(runs(before) && runs(after));
        prop_assert!(before.iter_days().skip(1).take_while(|x| *x < d).all(|x| !runs(x)));
        prop_assert!(d.iter_days().skip(1).take_while(|x| *x < after).all(|x| !runs(x)));
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing calendar files

/// (message, line, column) of each diagnostic.
fn located(errors: &[crate::diagnostics::Diagnostic]) -> Vec<(String, u32, u32)> {
    errors
        .iter()
        .map(|e| {
            let span = e.span.unwrap_or_default();
            (e.message.clone(), span.line, span.column)
        })
        .collect()
}

fn owned(expected: &[(&str, u32, u32)]) -> Vec<(String, u32, u32)> {
    expected
        .iter()
        .map(|(m, l, c)| (m.to_string(), *l, *c))
        .collect()
}

#[test]
fn calendar_parse_errors_are_located_and_all_collected() {
    let text = "\
name: broken
descripton: a typo
business_days: [mon, tues, wed, mon]
holidays:
  - { date: 2024-02-30, name: Nope }
  - { date: 2024-07-04, name: Independence Day }
  - { date: 2024-07-04, name: Fourth of July }
  - { date: 2024-12-25, nam: Christmas Day }
  - date: 2024-1-1
    name: New Year's Day
colour: blue
";
    let errors = Calendar::parse(FileId(0), text).expect_err("invalid");
    assert_eq!(
        located(&errors),
        owned(&[
            ("unknown key `descripton`", 2, 1),
            ("`tues` is not a weekday", 3, 22),
            ("`mon` is listed twice (both on line 3)", 3, 33),
            ("`2024-02-30` is not a date", 5, 13),
            ("2024-07-04 is listed twice (lines 6 and 7)", 7, 13),
            ("unknown key `nam`", 8, 25),
            ("missing key `name`", 8, 5),
            ("`2024-1-1` is not a date", 9, 11),
            ("unknown key `colour`", 11, 1),
        ])
    );
    assert_eq!(
        errors[0].help.as_deref(),
        Some("did you mean `description`?")
    );
    assert_eq!(errors[1].help.as_deref(), Some("did you mean `tue`?"));
    assert_eq!(errors[2].notes[0].span.column, 17, "first listed here");
    assert_eq!(
        errors[3].label.as_deref(),
        Some("February 2024 has 29 days")
    );
    assert_eq!(errors[4].label.as_deref(), Some("listed again here"));
    assert_eq!(errors[4].notes.len(), 1);
    assert_eq!(errors[4].notes[0].span.line, 6, "first listed here");
    assert_eq!(errors[5].help.as_deref(), Some("did you mean `name`?"));
    assert_eq!(errors[7].label.as_deref(), Some("expected YYYY-MM-DD"));
    assert!(errors.iter().all(|e| e.is_error()));

    // The rendered report shows the lines.
    let mut sources = SourceMap::new();
    let file = sources.add("calendars/broken.yaml", text);
    let errors = Calendar::parse(file, text).expect_err("invalid");
    let rendered = render_text(&sources, &errors);
    assert!(
        rendered.contains("calendars/broken.yaml:7:13"),
        "{rendered}"
    );
    assert!(rendered.contains("first listed here"), "{rendered}");
}

#[test]
fn calendar_structure_errors() {
    let parse = |text: &str| located(&Calendar::parse(FileId(0), text).expect_err("invalid"));
    assert_eq!(
        parse("# only a comment\n\n"),
        owned(&[("the calendar file has no content", 1, 1)])
    );
    assert_eq!(
        parse("- mon\n- tue\n"),
        owned(&[("a calendar file is a mapping of keys", 1, 1)])
    );
    assert_eq!(
        parse("business_days: [mon]\nholiday: []\n"),
        owned(&[
            ("unknown key `holiday`", 2, 1),
            ("missing key `name`", 1, 1)
        ])
    );
    assert_eq!(
        parse("name: x\nbusiness_days: []\nholidays: {date: 2024-01-01}\n"),
        owned(&[
            ("`business_days` lists no weekday", 2, 16),
            ("`holidays` must be a list", 3, 11),
        ])
    );
    assert_eq!(
        parse(
            "name: [x]\nbusiness_days: mon-fri\nholidays:\n  - 2024-01-01\n  - { date: [2024], name: '' }\n"
        ),
        owned(&[
            ("`name` must be text", 1, 7),
            ("`business_days` must be a list of weekdays", 2, 16),
            ("a holiday must be a mapping with `date` and `name`", 4, 5),
            ("expected a date", 5, 13),
            ("`name` is empty", 5, 27),
        ])
    );
    // Broken YAML stops at the first problem, located.
    let syntax = parse("name: x\nholidays: [\n");
    assert_eq!(syntax.len(), 1);
    assert_eq!(syntax[0].1, 2);
    let duplicate = Calendar::parse(FileId(0), "name: x\nname: y\n").expect_err("invalid");
    assert_eq!(
        located(&duplicate),
        owned(&[("key `name` is given twice", 2, 1)])
    );
    assert_eq!(
        parse("name: x\nbusiness_days: [Monday, no, 1.50]\n"),
        owned(&[
            ("`no` is not a weekday", 2, 25),
            ("`1.50` is not a weekday", 2, 29)
        ])
    );
}

#[test]
fn calendar_format_accepts_its_variants() {
    let text = "\
name: ops
description: Operations floor
business_days: [Monday, TUE, wed, thursday, fri, sat]
holidays:
  - date: \"2025-12-25\"
    name: Christmas Day
  - { date: 2025-12-26, name: Boxing Day }
";
    let calendar = Calendar::parse(FileId(0), text).expect("valid");
    assert_eq!(calendar.name(), "ops");
    assert_eq!(calendar.description(), Some("Operations floor"));
    assert!(calendar.is_business_day(date(2025, 12, 27)), "a Saturday");
    assert!(!calendar.is_business_day(date(2025, 12, 28)), "a Sunday");
    assert_eq!(calendar.holiday(date(2025, 12, 26)), Some("Boxing Day"));
    assert_eq!(calendar.covered_years(), Some(2025..=2025));
    // Only a name: Monday to Friday, no holidays.
    let minimal = Calendar::parse(FileId(0), "name: plain\nholidays:\n").expect("valid");
    assert_eq!(minimal, Calendar::weekdays_only("plain"));
    assert_eq!(minimal.covered_years(), None);
}

#[test]
fn deeply_nested_yaml_is_an_error_not_a_crash() {
    for depth in [100, 10_000] {
        let text = format!(
            "name: x\nholidays: {}{}\n",
            "[".repeat(depth),
            "]".repeat(depth)
        );
        let errors = Calendar::parse(FileId(0), &text).expect_err("too deep");
        assert_eq!(
            located(&errors),
            owned(&[("the file nests more than 8 levels deep", 2, 19)]),
            "depth {depth}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    /// Nothing a file says makes the parser panic: arbitrary text, and the shipped file cut
    /// and spliced.
    #[test]
    fn parse_never_panics(text in "\\PC{0,200}", cut in 0usize..US_FEDERAL.len(), len in 0usize..40, insert in "[-:{}\\[\\], a-z0-9\n]{0,8}") {
        let _ = Calendar::parse(FileId(0), &text);
        let mut spliced = US_FEDERAL.as_bytes().to_vec();
        let end = (cut + len).min(spliced.len());
        spliced.splice(cut..end, insert.bytes());
        if let Ok(spliced) = String::from_utf8(spliced) {
            let _ = Calendar::parse(FileId(0), &spliced);
        }
    }
}
