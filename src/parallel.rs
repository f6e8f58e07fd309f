//! Work on `0..n` cut into consecutive parts, one thread per part, results in part order: the
//! outcome of a sequential run, on every core. Shared by the snapshot parse, the duplicate
//! check, the rule passes and readiness.

use std::ops::Range;

/// The cores to use (`available_parallelism`, 1 where it cannot be read).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Parts for `n` items: one per core, but none holding fewer than `min_per_part` items
/// (always at least one part).
pub fn parts_for(n: usize, min_per_part: usize) -> usize {
    cores().min(n / min_per_part.max(1)).max(1)
}

/// `work` over `0..n` in `parts` consecutive ranges (part 0 on the calling thread, which
/// reuses the memory it freed before; the others on a thread each), results in range order.
/// A panic in a part is resumed on the caller.
pub fn in_parts<T: Send>(
    n: usize,
    parts: usize,
    work: impl Fn(Range<usize>) -> T + Sync,
) -> Vec<T> {
    in_parts_first(n, parts, &work, &work)
}

/// [`in_parts`] with part 0 done by `first` (which may borrow mutably what the calling
/// thread owns) and the others by `rest`.
pub fn in_parts_first<T: Send>(
    n: usize,
    parts: usize,
    first: impl FnOnce(Range<usize>) -> T,
    rest: impl Fn(Range<usize>) -> T + Sync,
) -> Vec<T> {
    let chunk = n.div_ceil(parts.max(1)).max(1);
    let range = |p: usize| (p * chunk).min(n)..((p + 1) * chunk).min(n);
    let parts = n.div_ceil(chunk).max(1);
    let rest = &rest;
    std::thread::scope(|s| {
        let handles: Vec<_> = (1..parts)
            .map(|p| s.spawn(move || rest(range(p))))
            .collect();
        let mut all = Vec::with_capacity(parts);
        all.push(first(range(0)));
        all.extend(
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))),
        );
        all
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_cover_every_item_once_in_order() {
        for n in [0, 1, 2, 7, 100, 101] {
            for parts in [1, 2, 3, 8, 500] {
                let got: Vec<usize> = in_parts(n, parts, |r| r.collect::<Vec<_>>())
                    .into_iter()
                    .flatten()
                    .collect();
                assert_eq!(got, (0..n).collect::<Vec<_>>(), "{n} items, {parts} parts");
            }
        }
    }

    #[test]
    fn the_first_part_runs_on_the_caller() {
        let mut mine = Vec::new();
        let parts = in_parts_first(10, 2, |r| mine.extend(r), |r| assert_eq!(r, 5..10));
        assert_eq!(parts.len(), 2);
        assert_eq!(mine, (0..5).collect::<Vec<_>>());
    }
}
