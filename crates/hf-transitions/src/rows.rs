//! Row loops: in parallel on rayon's pool when called from outside it, one after another on
//! a pool thread.
//!
//! A pool thread waiting in a parallel loop runs other queued jobs meanwhile. Blends queued on
//! the pool would then nest on one thread's stack, each holding its decoded layers (memory
//! grows with the queue), and a nested blend could wait for noise fields (a `OnceLock`) that the
//! thread beneath it is computing. So work already on the pool stays on its thread: blends run
//! side by side, one per pool thread.

use rayon::prelude::*;

/// `fill(y, row)` for every row of `width` items in `data`.
pub(crate) fn for_each_row<T: Send>(
    data: &mut [T],
    width: usize,
    fill: impl Fn(usize, &mut [T]) + Sync,
) {
    if rayon::current_thread_index().is_some() {
        data.chunks_mut(width)
            .enumerate()
            .for_each(|(y, row)| fill(y, row));
    } else {
        data.par_chunks_mut(width)
            .enumerate()
            .for_each(|(y, row)| fill(y, row));
    }
}
