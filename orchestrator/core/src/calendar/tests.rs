//! Calendar tests over 2024–2032: short months, leap years, weekends, holidays, DST nights.

use chrono::{Datelike, NaiveDate, NaiveTime, TimeDelta, Weekday};
use chrono_tz::America::New_York;
use proptest::prelude::*;

use super::*;
use crate::diagnostics::FileId;

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

/// The federal holidays recomputed from their rules (5 U.S.C. 6103 and OPM's observance
/// rules), independently of the shipped file.
fn federal_holidays(year: i32) -> Vec<NaiveDate> {
    let nth = |month: u32, weekday: Weekday, n: u8| {
        NaiveDate::from_weekday_of_month_opt(year, month, weekday, n).expect("exists")
    };
    let last_monday_of_may = (25..=31)
        .map(|d| date(year, 5, d))
        .rfind(|d| d.weekday() == Weekday::Mon)
        .expect("a Monday in the last week of May");
    let observed = |d: NaiveDate| match d.weekday() {
        Weekday::Sat => d - TimeDelta::days(1),
        Weekday::Sun => d + TimeDelta::days(1),
        _ => d,
    };
    let mut days = vec![
        observed(date(year, 1, 1)),
        nth(1, Weekday::Mon, 3),
        nth(2, Weekday::Mon, 3),
        last_monday_of_may,
        observed(date(year, 6, 19)),
        observed(date(year, 7, 4)),
        nth(9, Weekday::Mon, 1),
        nth(10, Weekday::Mon, 2),
        observed(date(year, 11, 11)),
        nth(11, Weekday::Thu, 4),
        observed(date(year, 12, 25)),
    ];
    // New Year's Day of the next year observed on December 31st of this one.
    let next_new_year = observed(date(year + 1, 1, 1));
    if next_new_year.year() == year {
        days.push(next_new_year);
    }
    days.retain(|d| d.year() == year);
    days.sort();
    days
}

#[test]
fn shipped_holidays_match_the_rules_2024_to_2032() {
    let calendar = us();
    assert_eq!(calendar.covered_years(), Some(2024..=2032));
    for year in 2024..=2032 {
        let shipped: Vec<NaiveDate> = (1..=366)
            .filter_map(|d| NaiveDate::from_yo_opt(year, d))
            .filter(|d| calendar.holiday(*d).is_some())
            .collect();
        assert_eq!(shipped, federal_holidays(year), "holidays of {year}");
    }
    assert_eq!(calendar.holiday(date(2027, 12, 31)), Some("New Year's Day (observed)"));
    assert_eq!(calendar.holiday(date(2025, 11, 27)), Some("Thanksgiving Day"));
}

#[test]
fn business_days_skip_weekends_and_holidays() {
    let calendar = us();
    assert!(calendar.is_business_day(date(2025, 3, 3)));
    assert!(!calendar.is_business_day(date(2025, 3, 1)), "Saturday");
    assert!(!calendar.is_business_day(date(2025, 7, 4)), "Independence Day");
    assert_eq!(calendar.previous_business_day(date(2025, 7, 6)), date(2025, 7, 3));
    assert_eq!(calendar.next_business_day(date(2025, 7, 4)), date(2025, 7, 7));
}

fn rule(adjust: NonBusinessStart, spacing: NightSpacing) -> MonthEndRule {
    MonthEndRule {
        start_day: 28,
        when_not_business_day: adjust,
        nights: 3,
        spacing,
    }
}

#[test]
fn month_end_in_february() {
    let calendar = us();
    let keep = rule(NonBusinessStart::Keep, NightSpacing::Calendar);
    // 2025 (not a leap year): the case study's crisis nights.
    assert_eq!(keep.nights(&calendar, 2025, 2), [date(2025, 2, 28), date(2025, 3, 1), date(2025, 3, 2)]);
    // 2024 (leap year): 28th is a Wednesday.
    assert_eq!(keep.nights(&calendar, 2024, 2), [date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1)]);
}

#[test]
fn month_end_when_the_28th_is_a_weekend() {
    let calendar = us();
    // 2025-06-28 is a Saturday.
    let previous = rule(NonBusinessStart::Previous, NightSpacing::Calendar);
    assert_eq!(previous.nights(&calendar, 2025, 6)[0], date(2025, 6, 27));
    let next = rule(NonBusinessStart::Next, NightSpacing::Calendar);
    assert_eq!(next.nights(&calendar, 2025, 6)[0], date(2025, 6, 30));
    let keep = rule(NonBusinessStart::Keep, NightSpacing::Calendar);
    assert_eq!(keep.nights(&calendar, 2025, 6)[0], date(2025, 6, 28));
    // Business spacing from Friday 2025-06-27 skips the weekend.
    let business = rule(NonBusinessStart::Previous, NightSpacing::Business);
    assert_eq!(business.nights(&calendar, 2025, 6), [date(2025, 6, 27), date(2025, 6, 30), date(2025, 7, 1)]);
}

#[test]
fn month_end_start_day_is_clamped_to_short_months() {
    let calendar = us();
    let day31 = MonthEndRule {
        start_day: 31,
        ..rule(NonBusinessStart::Keep, NightSpacing::Calendar)
    };
    assert_eq!(day31.nights(&calendar, 2025, 4)[0], date(2025, 4, 30), "April has 30 days");
    assert_eq!(day31.nights(&calendar, 2025, 2)[0], date(2025, 2, 28));
    assert_eq!(day31.nights(&calendar, 2024, 2)[0], date(2024, 2, 29));
}

#[test]
fn month_end_skips_a_holiday_start() {
    let calendar = us();
    // Thanksgiving 2030 is Thursday November 28th.
    assert_eq!(calendar.holiday(date(2030, 11, 28)), Some("Thanksgiving Day"));
    let previous = rule(NonBusinessStart::Previous, NightSpacing::Calendar);
    assert_eq!(previous.nights(&calendar, 2030, 11)[0], date(2030, 11, 27));
}

proptest! {
    #[test]
    fn month_end_nights_are_well_formed(
        year in 2024i32..=2032,
        month in 1u32..=12,
        start_day in 1u32..=31,
        nights in 1u32..=5,
        adjust in 0usize..3,
        business in any::<bool>(),
    ) {
        let calendar = us();
        let adjust = [NonBusinessStart::Previous, NonBusinessStart::Next, NonBusinessStart::Keep][adjust];
        let spacing = if business { NightSpacing::Business } else { NightSpacing::Calendar };
        let r = MonthEndRule { start_day, when_not_business_day: adjust, nights, spacing };
        let dates = r.nights(&calendar, year, month);
        prop_assert_eq!(dates.len(), nights as usize);
        prop_assert!(dates.windows(2).all(|w| w[0] < w[1]), "strictly increasing: {:?}", dates);
        let first_of_month = date(year, month, 1);
        prop_assert!(dates[0] >= first_of_month - TimeDelta::days(10), "{:?}", dates);
        prop_assert!(dates[0] <= first_of_month + TimeDelta::days(40), "{:?}", dates);
        if adjust != NonBusinessStart::Keep {
            prop_assert!(calendar.is_business_day(dates[0]), "{:?}", dates);
        }
        if business && adjust != NonBusinessStart::Keep {
            prop_assert!(dates.iter().all(|d| calendar.is_business_day(*d)), "{:?}", dates);
        }
    }
}

#[test]
fn windows_across_daylight_saving_time() {
    let w = |night| night_window(New_York, night, time(20, 0), time(6, 0)).duration();
    assert_eq!(w(date(2025, 11, 1)), TimeDelta::hours(11), "DST ends on the morning of Nov 2");
    assert_eq!(w(date(2025, 3, 8)), TimeDelta::hours(9), "DST starts on the morning of Mar 9");
    assert_eq!(w(date(2025, 3, 10)), TimeDelta::hours(10));
    for year in 2024..=2032 {
        // The night before the first Sunday of November is always 11 hours.
        let sunday = NaiveDate::from_weekday_of_month_opt(year, 11, Weekday::Sun, 1).expect("exists");
        assert_eq!(w(sunday - TimeDelta::days(1)), TimeDelta::hours(11), "{year}");
        let march = NaiveDate::from_weekday_of_month_opt(year, 3, Weekday::Sun, 2).expect("exists");
        assert_eq!(w(march - TimeDelta::days(1)), TimeDelta::hours(9), "{year}");
    }
}

#[test]
fn local_times_in_gaps_and_overlaps() {
    // 02:30 does not exist on 2025-03-09 in New York: it becomes 03:30 EDT (07:30 UTC).
    let gap = local_instant(New_York, date(2025, 3, 9), time(2, 30));
    assert_eq!(gap.format("%H:%M").to_string(), "07:30");
    // 01:30 happens twice on 2025-11-02: the earlier (EDT, 05:30 UTC) is taken.
    let twice = local_instant(New_York, date(2025, 11, 2), time(1, 30));
    assert_eq!(twice.format("%H:%M").to_string(), "05:30");
    // An ordinary winter evening: 20:00 EST is 01:00 UTC the next day.
    let plain = local_instant(New_York, date(2025, 2, 28), time(20, 0));
    assert_eq!(plain.format("%Y-%m-%d %H:%M").to_string(), "2025-03-01 01:00");
}

#[test]
fn cron_nights() {
    let cron: croner::Cron = "0 23 * * 1-5".parse().expect("valid cron");
    let fires = cron_fires_on(&cron, New_York, date(2025, 3, 4)).expect("fires on a Tuesday");
    assert_eq!(fires.format("%Y-%m-%d %H:%M").to_string(), "2025-03-05 04:00");
    assert_eq!(cron_fires_on(&cron, New_York, date(2025, 3, 1)), None, "Saturday");
    let calendar = us();
    // Thanksgiving 2025 (Thursday Nov 27) is skipped when business days only.
    let (before, after) = nearest_cron_nights(&cron, New_York, &calendar, true, date(2025, 11, 27));
    assert_eq!(before, Some(date(2025, 11, 26)));
    assert_eq!(after, Some(date(2025, 11, 28)));
    let (before, after) = nearest_cron_nights(&cron, New_York, &calendar, true, date(2025, 3, 1));
    assert_eq!((before, after), (Some(date(2025, 2, 28)), Some(date(2025, 3, 3))));
}

#[test]
fn calendar_parse_errors_are_located_and_all_collected() {
    let text = "name: broken\nbusiness_days: [mon, tues, fri]\nholidays:\n  - { date: 2024-02-30, name: Nope }\n  - { date: 2024-07-04, name: A }\n  - { date: 2024-07-04, name: B }\n";
    let errors = Calendar::parse(FileId(0), text).expect_err("invalid");
    let found: Vec<(String, u32)> = errors
        .iter()
        .map(|e| (e.message.clone(), e.span.map_or(0, |s| s.line)))
        .collect();
    assert_eq!(
        found,
        [
            ("`tues` is not a weekday".to_string(), 2),
            ("`2024-02-30` is not a date".to_string(), 4),
            ("2024-07-04 is listed twice".to_string(), 6),
        ]
    );
    assert_eq!(errors[0].help.as_deref(), Some("did you mean `tue`?"));
    let unknown_key = Calendar::parse(FileId(0), "name: x\nholiday: []\n").expect_err("unknown key");
    assert_eq!(unknown_key[0].message, "unknown key `holiday`");
    assert_eq!(unknown_key[0].help.as_deref(), Some("did you mean `holidays`?"));
}
