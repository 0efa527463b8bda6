// A layer of single-qubit gates applied to a batch of state vectors in one pass over memory.
//
// Built at first use by circuits/sim/native.py (torch.utils.cpp_extension.load) and called through ctypes:
// the source includes only the C++ standard library and OpenMP, so it compiles in seconds rather than the
// minute that torch's headers take. Threads come from the OpenMP runtime torch itself loaded.
//
// States are (batch, 2**n), row-major, real (T) or complex (interleaved re, im of T). Gate j acts on bit
// bits[j] of the amplitude index (bit 0 is the last qubit) with the 2 x 2 matrix mats[b, j] (per sample b,
// or one for every sample when mats_batch == 1). All bits of one call lie in one *group* [lo, lo + h): the
// caller (circuits/sim/native.py) splits a layer into groups. A group is processed in *tiles* of
// 2**h rows (the group's bits) x 2**c contiguous columns (bits below the group): each tile is copied into a
// small buffer (split into real and imaginary arrays so the arithmetic vectorises), every gate of the group
// is applied there, in cache, and the tile is written back. So a call reads and writes the state once,
// whatever the number of gates.
//
// The backward, per tile: the forward is recomputed keeping each gate's input (in cache), then the
// cotangent is carried back through the gates, accumulating each gate's gradient sum(lambda x conj(w)) and
// applying M^dagger. Exact for any matrices (no unitarity assumed).

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

struct Tiling {
    int lo;       // first bit of the group
    int h;        // bits in the group (rows = 2**h)
    int c;        // column bits (cols = 2**c, c <= lo)
    int64_t tiles_per_sample;
};

Tiling make_tiling(int lo, int h, int n, int tile_log2) {
    Tiling t;
    t.lo = lo;
    t.h = h;
    t.c = std::max(0, std::min(lo, tile_log2 - h));
    t.tiles_per_sample = int64_t(1) << (n - h - t.c);
    return t;
}

inline int64_t tile_base(const Tiling& t, int64_t tile) {
    int64_t colblocks_log2 = t.lo - t.c;
    int64_t colblock = tile & ((int64_t(1) << colblocks_log2) - 1);
    int64_t hi = tile >> colblocks_log2;
    return (hi << (t.lo + t.h)) | (colblock << t.c);
}

template <typename T, bool CPLX>
struct Tile {
    // Copy `count` amplitudes from `src` into the split arrays (conjugating when asked), and back.
    static void load_run(const T* src, int64_t count, T* re, T* im, bool conj) {
        if constexpr (CPLX) {
            const T sign = conj ? T(-1) : T(1);
            T* __restrict dre = re;
            T* __restrict dim = im;
#pragma omp simd
            for (int64_t k = 0; k < count; ++k) {
                dre[k] = src[2 * k];
                dim[k] = sign * src[2 * k + 1];
            }
        } else {
            std::memcpy(re, src, sizeof(T) * count);
        }
    }

    static void store_run(T* dst, int64_t count, const T* re, const T* im) {
        if constexpr (CPLX) {
            const T* __restrict sre = re;
            const T* __restrict sim = im;
#pragma omp simd
            for (int64_t k = 0; k < count; ++k) {
                dst[2 * k] = sre[k];
                dst[2 * k + 1] = sim[k];
            }
        } else {
            std::memcpy(dst, re, sizeof(T) * count);
        }
    }

    // The tile: rows of `cols` contiguous amplitudes, row r at base + (r << lo); one run when cols == 2**lo.
    static void load(const T* state, const Tiling& t, int64_t base, T* re, T* im, bool conj) {
        const int64_t width = CPLX ? 2 : 1;
        if (t.c == t.lo) {
            load_run(state + width * base, int64_t(1) << (t.h + t.c), re, im, conj);
            return;
        }
        const int64_t rows = int64_t(1) << t.h, cols = int64_t(1) << t.c;
        for (int64_t r = 0; r < rows; ++r)
            load_run(state + width * (base + (r << t.lo)), cols, re + r * cols, im + r * cols, conj);
    }

    static void store(T* state, const Tiling& t, int64_t base, const T* re, const T* im) {
        const int64_t width = CPLX ? 2 : 1;
        if (t.c == t.lo) {
            store_run(state + width * base, int64_t(1) << (t.h + t.c), re, im);
            return;
        }
        const int64_t rows = int64_t(1) << t.h, cols = int64_t(1) << t.c;
        for (int64_t r = 0; r < rows; ++r)
            store_run(state + width * (base + (r << t.lo)), cols, re + r * cols, im + r * cols);
    }

    // out = M in on the pairs of one tile bit (stride s in tile elements); in may equal out. m: 4 entries
    // (complex interleaved: 8 reals) m00 m01 m10 m11.
    static void apply(const T* in_re, const T* in_im, T* out_re, T* out_im, int64_t size, int64_t s, const T* m) {
        for (int64_t base = 0; base < size; base += 2 * s) {
            const T* __restrict ar = in_re + base;
            const T* __restrict br = in_re + base + s;
            T* __restrict oar = out_re + base;
            T* __restrict obr = out_re + base + s;
            if constexpr (CPLX) {
                const T m00r = m[0], m00i = m[1], m01r = m[2], m01i = m[3];
                const T m10r = m[4], m10i = m[5], m11r = m[6], m11i = m[7];
                const T* __restrict ai = in_im + base;
                const T* __restrict bi = in_im + base + s;
                T* __restrict oai = out_im + base;
                T* __restrict obi = out_im + base + s;
#pragma omp simd
                for (int64_t k = 0; k < s; ++k) {
                    const T xr = ar[k], xi = ai[k], yr = br[k], yi = bi[k];
                    oar[k] = m00r * xr - m00i * xi + m01r * yr - m01i * yi;
                    oai[k] = m00r * xi + m00i * xr + m01r * yi + m01i * yr;
                    obr[k] = m10r * xr - m10i * xi + m11r * yr - m11i * yi;
                    obi[k] = m10r * xi + m10i * xr + m11r * yi + m11i * yr;
                }
            } else {
                const T m00 = m[0], m01 = m[1], m10 = m[2], m11 = m[3];
#pragma omp simd
                for (int64_t k = 0; k < s; ++k) {
                    const T x = ar[k], y = br[k];
                    oar[k] = m00 * x + m01 * y;
                    obr[k] = m10 * x + m11 * y;
                }
            }
        }
    }

    // acc += sum over pairs of lambda_i conj(w_j) (i, j in {0, 1}); then lambda <- M^dagger lambda.
    static void backward(T* lre, T* lim, const T* wre, const T* wim, int64_t size, int64_t s, const T* m, double* acc) {
        if constexpr (CPLX) {
            T g00r = 0, g00i = 0, g01r = 0, g01i = 0, g10r = 0, g10i = 0, g11r = 0, g11i = 0;
            const T m00r = m[0], m00i = m[1], m01r = m[2], m01i = m[3];
            const T m10r = m[4], m10i = m[5], m11r = m[6], m11i = m[7];
            for (int64_t base = 0; base < size; base += 2 * s) {
                T* __restrict lar = lre + base;
                T* __restrict lai = lim + base;
                T* __restrict lbr = lre + base + s;
                T* __restrict lbi = lim + base + s;
                const T* __restrict war = wre + base;
                const T* __restrict wai = wim + base;
                const T* __restrict wbr = wre + base + s;
                const T* __restrict wbi = wim + base + s;
#pragma omp simd reduction(+ : g00r, g00i, g01r, g01i, g10r, g10i, g11r, g11i)
                for (int64_t k = 0; k < s; ++k) {
                    const T xr = lar[k], xi = lai[k], yr = lbr[k], yi = lbi[k];
                    const T ur = war[k], ui = wai[k], vr = wbr[k], vi = wbi[k];
                    g00r += xr * ur + xi * ui;
                    g00i += xi * ur - xr * ui;
                    g01r += xr * vr + xi * vi;
                    g01i += xi * vr - xr * vi;
                    g10r += yr * ur + yi * ui;
                    g10i += yi * ur - yr * ui;
                    g11r += yr * vr + yi * vi;
                    g11i += yi * vr - yr * vi;
                    // M^dagger: [[conj m00, conj m10], [conj m01, conj m11]]
                    lar[k] = m00r * xr + m00i * xi + m10r * yr + m10i * yi;
                    lai[k] = m00r * xi - m00i * xr + m10r * yi - m10i * yr;
                    lbr[k] = m01r * xr + m01i * xi + m11r * yr + m11i * yi;
                    lbi[k] = m01r * xi - m01i * xr + m11r * yi - m11i * yr;
                }
            }
            acc[0] += g00r, acc[1] += g00i, acc[2] += g01r, acc[3] += g01i;
            acc[4] += g10r, acc[5] += g10i, acc[6] += g11r, acc[7] += g11i;
        } else {
            T g00 = 0, g01 = 0, g10 = 0, g11 = 0;
            const T m00 = m[0], m01 = m[1], m10 = m[2], m11 = m[3];
            for (int64_t base = 0; base < size; base += 2 * s) {
                T* __restrict la = lre + base;
                T* __restrict lb = lre + base + s;
                const T* __restrict wa = wre + base;
                const T* __restrict wb = wre + base + s;
#pragma omp simd reduction(+ : g00, g01, g10, g11)
                for (int64_t k = 0; k < s; ++k) {
                    const T x = la[k], y = lb[k], u = wa[k], v = wb[k];
                    g00 += x * u;
                    g01 += x * v;
                    g10 += y * u;
                    g11 += y * v;
                    la[k] = m00 * x + m10 * y;
                    lb[k] = m01 * x + m11 * y;
                }
            }
            acc[0] += g00, acc[1] += g01, acc[2] += g10, acc[3] += g11;
        }
    }
};

constexpr int kEntries(bool cplx) { return cplx ? 8 : 4; }

constexpr int kSmall = 3;
// Gates on the lowest kSmall tile bits pair amplitudes 1, 2 or 4 apart, too close for SIMD. For them the
// tile is transposed in cache, as (2**kSmall) x (size / 2**kSmall), which puts those bits outermost.

constexpr int64_t kWays = int64_t(1) << kSmall;

// natural [rows][kWays] -> transposed [kWays][rows], and back; the fixed-size inner loop keeps reads or writes
// sequential
template <typename T>
void to_transposed(const T* __restrict src, T* __restrict dst, int64_t rows) {
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < kWays; ++c) dst[c * rows + r] = src[r * kWays + c];
}

template <typename T>
void from_transposed(const T* __restrict src, T* __restrict dst, int64_t rows) {
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < kWays; ++c) dst[r * kWays + c] = src[c * rows + r];
}

// A contiguous tile's store straight from the transposed layout (no transpose back in cache).
template <typename T, bool CPLX>
void store_transposed(T* dst, int64_t size, const T* __restrict re, const T* __restrict im) {
    const int64_t rows = size >> kSmall;
    for (int64_t r = 0; r < rows; ++r) {
        T* __restrict out = dst + (CPLX ? 2 : 1) * r * kWays;
        for (int64_t c = 0; c < kWays; ++c) {
            if constexpr (CPLX) {
                out[2 * c] = re[c * rows + r];
                out[2 * c + 1] = im[c * rows + r];
            } else {
                out[c] = re[c * rows + r];
            }
        }
    }
}

// The order a tile's gates run in and the layout and stride each sees: gates on the small tile bits first, in
// the transposed layout, then the others in the natural one.
struct Schedule {
    std::vector<int> order;       // gate indices
    std::vector<int64_t> stride;  // per position in `order`
    int small;                    // how many of them run transposed
};

Schedule make_schedule(const int32_t* bits, int g, const Tiling& t) {
    Schedule sch;
    const int tile_bits = t.h + t.c;
    const bool transposed = tile_bits >= kSmall + 3;
    const int64_t rest = int64_t(1) << (tile_bits - kSmall);
    for (int pass = 0; pass < 2; ++pass) {
        for (int j = 0; j < g; ++j) {
            const int tb = bits[j] - t.lo + t.c;
            const bool small = transposed && tb < kSmall;
            if (small != (pass == 0)) continue;
            sch.order.push_back(j);
            sch.stride.push_back(small ? rest << tb : int64_t(1) << tb);
        }
        if (pass == 0) sch.small = int(sch.order.size());
    }
    // within each phase, by increasing stride (the gates commute; apply2 takes them in pairs)
    for (int pass = 0; pass < 2; ++pass) {
        const int first = pass == 0 ? 0 : sch.small, last = pass == 0 ? sch.small : int(sch.order.size());
        std::vector<std::pair<int64_t, int>> items;
        for (int i = first; i < last; ++i) items.push_back({sch.stride[i], sch.order[i]});
        std::sort(items.begin(), items.end());
        for (int i = first; i < last; ++i) sch.stride[i] = items[i - first].first, sch.order[i] = items[i - first].second;
    }
    return sch;
}

// Split-array tile buffers: re at p, im at p + size. The memory is the calling thread's own and is kept
// between calls (a thread holds one Buffers at a time): the backward's buffers (about 0.5 MiB a thread) are
// past malloc's mmap threshold, and mapping and faulting them in afresh on every call, in every thread at
// once, cost a third of the backward's time with two threads.
template <typename T>
struct Buffers {
    T* data;
    int64_t size;
    Buffers(int count, int64_t size_) : size(size_) {
        thread_local std::vector<T> storage;
        const size_t needed = size_t(2 * size_ * count);
        if (storage.size() < needed) storage.resize(needed);
        data = storage.data();
    }
    T* re(int i) { return data + 2 * size * i; }
    T* im(int i) { return re(i) + size; }
};

template <typename T, bool CPLX>
void to_small_layout(Buffers<T>& buf, int from, int to, bool forward_direction) {
    const int64_t rows = buf.size >> kSmall;
    if (forward_direction) {
        to_transposed(buf.re(from), buf.re(to), rows);
        if constexpr (CPLX) to_transposed(buf.im(from), buf.im(to), rows);
    } else {
        from_transposed(buf.re(from), buf.re(to), rows);
        if constexpr (CPLX) from_transposed(buf.im(from), buf.im(to), rows);
    }
}

template <typename T, bool CPLX>
void forward(const T* src, T* dst, const T* mats, const int32_t* bits, int g, int n, int64_t batch, int64_t mats_batch,
             int lo, int h, int tile_log2, int threads) {
    const Tiling t = make_tiling(lo, h, n, tile_log2);
    const Schedule sch = make_schedule(bits, g, t);
    const int64_t size = int64_t(1) << (t.h + t.c);
    const int64_t amps = int64_t(1) << n;
    const int ent = kEntries(CPLX);
    const int64_t stride = CPLX ? 2 * amps : amps;
    const int64_t total = batch * t.tiles_per_sample;
#pragma omp parallel num_threads(threads)
    {
        Buffers<T> buf(2, size);
#pragma omp for schedule(static)
        for (int64_t job = 0; job < total; ++job) {
            const int64_t b = job / t.tiles_per_sample;
            const int64_t base = tile_base(t, job % t.tiles_per_sample);
            const T* m = mats + (mats_batch == 1 ? 0 : b) * g * ent;
            Tile<T, CPLX>::load(src + b * stride, t, base, buf.re(0), buf.im(0), false);
            int cur = 0;
            const int k = int(sch.order.size());
            auto run = [&](int first, int last) {
                for (int i = first; i < last; ++i)
                    Tile<T, CPLX>::apply(buf.re(cur), buf.im(cur), buf.re(cur), buf.im(cur), size, sch.stride[i],
                                         m + sch.order[i] * ent);
            };
            run(sch.small, k);  // the natural layout's gates, then the small bits' in the transposed one
            if (sch.small > 0) {
                to_small_layout<T, CPLX>(buf, cur, 1 - cur, true);
                cur = 1 - cur;
                run(0, sch.small);
                if (t.c == t.lo) {  // a contiguous tile: written back from the transposed layout directly
                    store_transposed<T, CPLX>(dst + b * stride + (CPLX ? 2 : 1) * base, size, buf.re(cur), buf.im(cur));
                    continue;
                }
                to_small_layout<T, CPLX>(buf, cur, 1 - cur, false);
                cur = 1 - cur;
            }
            Tile<T, CPLX>::store(dst + b * stride, t, base, buf.re(cur), buf.im(cur));
        }
    }
}

template <typename T, bool CPLX>
void backward(const T* grad_out, const T* x, T* grad_in, T* grad_mats, const T* mats, const int32_t* bits, int g, int n,
              int64_t batch, int64_t mats_batch, bool conj_x, int lo, int h, int tile_log2, int threads) {
    const Tiling t = make_tiling(lo, h, n, tile_log2);
    const Schedule sch = make_schedule(bits, g, t);
    const int64_t size = int64_t(1) << (t.h + t.c);
    const int64_t amps = int64_t(1) << n;
    const int ent = kEntries(CPLX);
    const int64_t stride = CPLX ? 2 * amps : amps;
    const int64_t total = batch * t.tiles_per_sample;
    const int used = std::max(1, threads);
    const bool switches = sch.small > 0;
    std::vector<double> acc(size_t(used) * mats_batch * g * ent, 0.0);
#pragma omp parallel num_threads(used)
    {
#ifdef _OPENMP
        const int me = omp_get_thread_num();
#else
        const int me = 0;
#endif
        double* mine = acc.data() + size_t(me) * mats_batch * g * ent;
        // buffers: 0 and 1 for the cotangent (and layout switches), 2 + i the input of the i-th scheduled gate
        Buffers<T> buf(2 + g + 1, size);
#pragma omp for schedule(static)
        for (int64_t job = 0; job < total; ++job) {
            const int64_t b = job / t.tiles_per_sample;
            const int64_t base = tile_base(t, job % t.tiles_per_sample);
            const T* m = mats + (mats_batch == 1 ? 0 : b) * g * ent;
            double* a = mine + (mats_batch == 1 ? 0 : b) * g * ent;
            const int k = int(sch.order.size());
            // recompute the inputs of the scheduled gates: w[i] = buffer 2 + i, in the layout gate i uses
            Tile<T, CPLX>::load(x + b * stride, t, base, buf.re(2 + k), buf.im(2 + k), conj_x);
            if (switches) to_small_layout<T, CPLX>(buf, 2 + k, 2, true);
            else std::memcpy(buf.re(2), buf.re(2 + k), sizeof(T) * 2 * size);
            for (int i = 0; i + 1 < k; ++i) {
                const int next = 2 + i + 1;
                if (switches && i + 1 == sch.small) {
                    Tile<T, CPLX>::apply(buf.re(2 + i), buf.im(2 + i), buf.re(2 + k), buf.im(2 + k), size,
                                         sch.stride[i], m + sch.order[i] * ent);
                    to_small_layout<T, CPLX>(buf, 2 + k, next, false);
                } else {
                    Tile<T, CPLX>::apply(buf.re(2 + i), buf.im(2 + i), buf.re(next), buf.im(next), size,
                                         sch.stride[i], m + sch.order[i] * ent);
                }
            }
            // the cotangent, back through the gates in reverse
            int cur = 0;
            Tile<T, CPLX>::load(grad_out + b * stride, t, base, buf.re(0), buf.im(0), false);
            if (switches && sch.small == k) {
                to_small_layout<T, CPLX>(buf, cur, 1 - cur, true);
                cur = 1 - cur;
            }
            for (int i = k - 1; i >= 0; --i) {
                if (switches && i + 1 == sch.small && sch.small < k) {
                    to_small_layout<T, CPLX>(buf, cur, 1 - cur, true);
                    cur = 1 - cur;
                }
                Tile<T, CPLX>::backward(buf.re(cur), buf.im(cur), buf.re(2 + i), buf.im(2 + i), size, sch.stride[i],
                                        m + sch.order[i] * ent, a + sch.order[i] * ent);
            }
            if (switches) {
                to_small_layout<T, CPLX>(buf, cur, 1 - cur, false);
                cur = 1 - cur;
            }
            Tile<T, CPLX>::store(grad_in + b * stride, t, base, buf.re(cur), buf.im(cur));
        }
    }
    const int64_t count = mats_batch * g * ent;
    for (int64_t i = 0; i < count; ++i) {
        double sum = 0.0;
        for (int k = 0; k < used; ++k) sum += acc[size_t(k) * count + i];
        grad_mats[i] = T(sum);
    }
}

// Calls f(tag) with tag::type the scalar type and tag::cplx whether it is complex; dtype codes as below.
template <typename T, bool C>
struct Tag {
    using type = T;
    static constexpr bool cplx = C;
};

template <typename F>
int dispatch(int dtype, F&& f) {
    switch (dtype) {
        case 0: f(Tag<float, false>{}); return 0;
        case 1: f(Tag<double, false>{}); return 0;
        case 2: f(Tag<float, true>{}); return 0;
        case 3: f(Tag<double, true>{}); return 0;
    }
    return -1;
}

}  // namespace

extern "C" {

// dtype: 0 float32, 1 float64, 2 complex64, 3 complex128. Returns 0, or -1 for an unknown dtype.
int qml_layer_forward(int dtype, const void* src, void* dst, const void* mats, const int32_t* bits, int32_t g,
                      int32_t n, int64_t batch, int64_t mats_batch, int32_t lo, int32_t h, int32_t tile_log2,
                      int32_t threads) {
    return dispatch(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        forward<T, decltype(tag)::cplx>((const T*)src, (T*)dst, (const T*)mats, bits, g, n, batch, mats_batch, lo, h,
                                        tile_log2, threads);
    });
}

int qml_layer_backward(int dtype, const void* grad_out, const void* x, void* grad_in, void* grad_mats,
                       const void* mats, const int32_t* bits, int32_t g, int32_t n, int64_t batch, int64_t mats_batch,
                       int32_t lo, int32_t h, int32_t tile_log2, int32_t threads, int32_t conj_x) {
    return dispatch(dtype, [&](auto tag) {
        using T = typename decltype(tag)::type;
        backward<T, decltype(tag)::cplx>((const T*)grad_out, (const T*)x, (T*)grad_in, (T*)grad_mats, (const T*)mats,
                                         bits, g, n, batch, mats_batch, conj_x != 0, lo, h, tile_log2, threads);
    });
}

int qml_layer_version() { return 2; }

}  // extern "C"
