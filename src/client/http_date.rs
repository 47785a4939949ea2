//! The one HTTP-date format servers must send (IMF-fixdate, RFC 9110 section 5.6.7), for
//! `Retry-After`.

/// Seconds since the Unix epoch of an IMF-fixdate such as `Sun, 06 Nov 1994 08:49:37 GMT`;
/// `None` for anything else (the obsolete formats are not worth the code: servers have
/// had to send this one since 1999).
pub(super) fn parse(value: &[u8]) -> Option<u64> {
    let [_, _, _, b',', b' ', d1, d2, b' ', m1, m2, m3, b' ', y1, y2, y3, y4, b' ', h1, h2, b':', n1, n2, b':', s1, s2, b' ', b'G', b'M', b'T'] =
        *value
    else {
        return None;
    };
    let day = digits(&[d1, d2])?;
    let month = match &[m1, m2, m3] {
        b"Jan" => 1,
        b"Feb" => 2,
        b"Mar" => 3,
        b"Apr" => 4,
        b"May" => 5,
        b"Jun" => 6,
        b"Jul" => 7,
        b"Aug" => 8,
        b"Sep" => 9,
        b"Oct" => 10,
        b"Nov" => 11,
        b"Dec" => 12,
        _ => return None,
    };
    let year = digits(&[y1, y2, y3, y4])?;
    let (hour, minute, second) = (digits(&[h1, h2])?, digits(&[n1, n2])?, digits(&[s1, s2])?);
    if !(1..=31).contains(&day) || year < 1970 || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_since_epoch(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60 + second)
}

fn digits(bytes: &[u8]) -> Option<u64> {
    bytes.iter().try_fold(0, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar, from 1970 on:
/// years counted from March, so that the leap day comes last.
fn days_since_epoch(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let year_of_era = year % 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719_468: days from 0000-03-01 to 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn imf_fixdate_is_seconds_since_the_epoch() {
        for (date, secs) in [
            (&b"Thu, 01 Jan 1970 00:00:00 GMT"[..], Some(0)),
            (b"Sun, 06 Nov 1994 08:49:37 GMT", Some(784_111_777)),
            (b"Tue, 29 Feb 2000 12:00:00 GMT", Some(951_825_600)),
            (b"Wed, 21 Oct 2015 07:28:00 GMT", Some(1_445_412_480)),
            (b"Sunday, 06-Nov-94 08:49:37 GMT", None),
            (b"Sun Nov  6 08:49:37 1994", None),
            (b"Sun, 06 Foo 1994 08:49:37 GMT", None),
            (b"Sun, 06 Nov 1994 25:49:37 GMT", None),
            (b"Sun, 06 Nov 1994 08:49:37 UTC", None),
            (b"", None),
        ] {
            assert_eq!(parse(date), secs, "{date:?}");
        }
    }
}
