use super::*;

/// Unix ms of a UTC date and time.
fn at(year: i64, month: u32, day: u32, hour: u64, min: u64) -> u64 {
    let days = u64::try_from(days_from_civil(year, month, day)).unwrap();
    days * DAY_MS + hour * 3_600_000 + min * 60_000
}

fn bounds(period: Period, t: u64) -> (u64, Option<u64>) {
    (period.start_ms(t), period.end_ms(t))
}

#[test]
fn civil_dates_round_trip_and_match_known_instants() {
    assert_eq!(at(1970, 1, 1, 0, 0), 0);
    assert_eq!(at(2000, 3, 1, 0, 0), 951_868_800_000);
    assert_eq!(at(2024, 2, 29, 12, 0), 1_709_208_000_000);
    for days in [0, 1, 59, 365, 10_957, 19_782, 2_932_896, 213_503_982_334] {
        let (y, m, d) = civil_from_days(days);
        assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
    }
}

#[test]
fn a_day_runs_midnight_to_midnight() {
    let t = at(2025, 6, 15, 13, 37);
    assert_eq!(
        bounds(Period::Daily, t),
        (at(2025, 6, 15, 0, 0), Some(at(2025, 6, 16, 0, 0)))
    );
    let midnight = at(2025, 6, 16, 0, 0);
    assert_eq!(Period::Daily.start_ms(midnight), midnight);
    assert_eq!(Period::Daily.start_ms(midnight - 1), at(2025, 6, 15, 0, 0));
    assert_eq!(Period::Daily.end_ms(midnight - 1), Some(midnight));
}

#[test]
fn a_week_starts_on_monday() {
    // 2025-06-09 is a Monday, 2025-06-15 a Sunday.
    let monday = at(2025, 6, 9, 0, 0);
    let next = at(2025, 6, 16, 0, 0);
    for t in [
        monday,
        at(2025, 6, 12, 8, 0),
        at(2025, 6, 15, 23, 59),
        next - 1,
    ] {
        assert_eq!(bounds(Period::Weekly, t), (monday, Some(next)), "{t}");
    }
    assert_eq!(Period::Weekly.start_ms(next), next);
    assert_eq!(Period::Weekly.start_ms(monday - 1), at(2025, 6, 2, 0, 0));
    // ISO week 1 of 2025 starts in 2024; the week holding 2021-01-01 (a Friday) started in 2020.
    assert_eq!(
        Period::Weekly.start_ms(at(2025, 1, 1, 9, 0)),
        at(2024, 12, 30, 0, 0)
    );
    assert_eq!(
        Period::Weekly.start_ms(at(2021, 1, 1, 0, 0)),
        at(2020, 12, 28, 0, 0)
    );
}

#[test]
fn the_first_week_of_1970_is_clamped_to_the_epoch() {
    // 1970-01-01 was a Thursday: its week began on 1969-12-29, which u64 cannot name.
    assert_eq!(bounds(Period::Weekly, 0), (0, Some(at(1970, 1, 5, 0, 0))));
    assert_eq!(
        bounds(Period::Weekly, at(1970, 1, 4, 23, 0)),
        (0, Some(at(1970, 1, 5, 0, 0)))
    );
    assert_eq!(
        Period::Weekly.start_ms(at(1970, 1, 5, 0, 0)),
        at(1970, 1, 5, 0, 0)
    );
}

#[test]
fn a_month_runs_first_to_first_whatever_its_length() {
    let cases = [
        ((2025, 1), (2025, 2)),
        ((2025, 2), (2025, 3)),
        ((2025, 4), (2025, 5)),
        ((2025, 12), (2026, 1)),
    ];
    for ((y, m), (ny, nm)) in cases {
        let start = at(y, m, 1, 0, 0);
        let end = at(ny, nm, 1, 0, 0);
        for t in [start, start + DAY_MS * 10, end - 1] {
            assert_eq!(bounds(Period::Monthly, t), (start, Some(end)));
        }
        assert_eq!(Period::Monthly.start_ms(end), end);
    }
}

#[test]
fn february_has_29_days_in_leap_years_only() {
    let month_days = |y: i64| {
        let feb = at(y, 2, 10, 0, 0);
        (Period::Monthly.end_ms(feb).unwrap() - Period::Monthly.start_ms(feb)) / DAY_MS
    };
    assert_eq!(month_days(2024), 29);
    assert_eq!(month_days(2025), 28);
    assert_eq!(month_days(2000), 29);
    assert_eq!(month_days(2100), 28);
    // The leap day itself is a day like any other.
    let leap = at(2024, 2, 29, 23, 59);
    assert_eq!(
        bounds(Period::Daily, leap),
        (at(2024, 2, 29, 0, 0), Some(at(2024, 3, 1, 0, 0)))
    );
    assert_eq!(Period::Monthly.end_ms(leap), Some(at(2024, 3, 1, 0, 0)));
}

#[test]
fn total_never_resets() {
    for t in [0, at(2025, 6, 15, 1, 2), u64::MAX] {
        assert_eq!(bounds(Period::Total, t), (0, None));
    }
}

#[test]
fn every_period_holds_its_instant_and_follows_on_from_the_previous() {
    let mut t = at(2023, 12, 25, 0, 0);
    while t < at(2024, 3, 10, 0, 0) {
        for period in [Period::Daily, Period::Weekly, Period::Monthly] {
            let (start, end) = bounds(period, t);
            let end = end.unwrap();
            assert!(start <= t && t < end, "{period:?} at {t}");
            assert_eq!(period.start_ms(end), end);
            assert_eq!(period.end_ms(start.saturating_sub(1)), Some(start));
        }
        t += 3_600_000 * 7 + 1;
    }
}

#[test]
fn extreme_instants_do_not_panic() {
    for period in Period::ALL {
        for t in [0, 1, u64::MAX - DAY_MS, u64::MAX - 1, u64::MAX] {
            let start = period.start_ms(t);
            assert!(start <= t);
            assert!(period.end_ms(t).is_none_or(|end| end >= start));
        }
    }
}

#[test]
fn instants_format_as_rfc3339_and_names_round_trip() {
    assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(
        rfc3339(at(2024, 2, 29, 12, 7) + 59_999),
        "2024-02-29T12:07:59Z"
    );
    for period in Period::ALL {
        assert_eq!(Period::parse(period.as_str()), Some(period));
        let json = serde_json::to_string(&period).unwrap();
        assert_eq!(json, format!("\"{}\"", period.as_str()));
    }
    assert_eq!(Period::parse("yearly"), None);
}
