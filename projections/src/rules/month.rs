//! Calendar months in UTC: the unit of every report (revenue-rules.md §0).

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A UTC calendar month, written `YYYY-MM` (e.g. `2025-03`).
///
/// A month report for month m covers `[m.first_instant(), m.next().first_instant())`
/// (revenue-rules.md §0). Ordered chronologically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Month {
    /// Calendar year (e.g. 2025).
    year: i32,
    /// Month of the year, 1 (January) to 12 (December).
    month_of_year: u32,
}

/// Why a text is not a `YYYY-MM` month.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a month: expected YYYY-MM with a 4-digit year and a month 01..12, e.g. 2025-03")]
pub struct MonthParseError {
    /// The rejected text.
    pub text: String,
}

impl Month {
    /// The month `year`-`month_of_year`; `None` unless `month_of_year` is 1..=12.
    pub fn from_year_and_month(year: i32, month_of_year: u32) -> Option<Self> {
        (1..=12).contains(&month_of_year).then_some(Self {
            year,
            month_of_year,
        })
    }

    /// The UTC month containing the instant `at`.
    pub fn containing(at: DateTime<Utc>) -> Self {
        Self::containing_day(at.date_naive())
    }

    /// The month containing the calendar day `day`.
    pub fn containing_day(day: NaiveDate) -> Self {
        Self {
            year: day.year(),
            month_of_year: day.month(),
        }
    }

    /// Calendar year (e.g. 2025).
    pub fn year(self) -> i32 {
        self.year
    }

    /// Month of the year, 1..=12.
    pub fn month_of_year(self) -> u32 {
        self.month_of_year
    }

    /// The first calendar day of the month.
    ///
    /// Saturates at chrono's representable range, which no Stripe timestamp approaches.
    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month_of_year, 1).unwrap_or(if self.year > 0 {
            NaiveDate::MAX
        } else {
            NaiveDate::MIN
        })
    }

    /// The first instant of the month: 00:00:00 UTC of its first day.
    pub fn first_instant(self) -> DateTime<Utc> {
        self.first_day()
            .and_hms_opt(0, 0, 0)
            .map(|midnight| midnight.and_utc())
            .unwrap_or(if self.year > 0 {
                DateTime::<Utc>::MAX_UTC
            } else {
                DateTime::<Utc>::MIN_UTC
            })
    }

    /// The following month (December -> January of the next year); saturates at the last
    /// representable month.
    pub fn next(self) -> Self {
        if self.month_of_year == 12 {
            match self.year.checked_add(1) {
                Some(year) => Self {
                    year,
                    month_of_year: 1,
                },
                None => self,
            }
        } else {
            Self {
                year: self.year,
                month_of_year: self.month_of_year + 1,
            }
        }
    }

    /// The preceding month (January -> December of the previous year); saturates at the first
    /// representable month.
    pub fn previous(self) -> Self {
        if self.month_of_year == 1 {
            match self.year.checked_sub(1) {
                Some(year) => Self {
                    year,
                    month_of_year: 12,
                },
                None => self,
            }
        } else {
            Self {
                year: self.year,
                month_of_year: self.month_of_year - 1,
            }
        }
    }

    /// Every month from `from` to `to`, both included, ascending; empty when `from > to`.
    pub fn range_inclusive(from: Month, to: Month) -> MonthRange {
        MonthRange {
            next_month: (from <= to).then_some(from),
            last_month: to,
        }
    }
}

/// Iterator over the months of [`Month::range_inclusive`].
#[derive(Debug, Clone)]
pub struct MonthRange {
    /// The next month to yield; `None` once exhausted.
    next_month: Option<Month>,
    /// The last month to yield (inclusive).
    last_month: Month,
}

impl Iterator for MonthRange {
    type Item = Month;

    fn next(&mut self) -> Option<Month> {
        let current = self.next_month?;
        let following = current.next();
        self.next_month = (current < self.last_month && following > current).then_some(following);
        Some(current)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month_of_year)
    }
}

impl FromStr for Month {
    type Err = MonthParseError;

    /// Parses exactly `YYYY-MM` (4-digit year, 2-digit month 01..12).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let error = || MonthParseError {
            text: text.to_owned(),
        };
        let bytes = text.as_bytes();
        let well_formed = bytes.len() == 7
            && bytes[4] == b'-'
            && bytes[..4].iter().all(u8::is_ascii_digit)
            && bytes[5..].iter().all(u8::is_ascii_digit);
        if !well_formed {
            return Err(error());
        }
        let year: i32 = text[..4].parse().map_err(|_| error())?;
        let month_of_year: u32 = text[5..].parse().map_err(|_| error())?;
        Self::from_year_and_month(year, month_of_year).ok_or_else(error)
    }
}

impl Serialize for Month {
    /// Serialises as the string `YYYY-MM`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    /// Deserialises from the string `YYYY-MM`.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}
