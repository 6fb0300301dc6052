/* RNG tests: Philox against the published known answers, the documented normal stream against an
   independent derivation, streams, moments, bad input. */
#include "fw_test.h"

/* Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors):
   counter (4 words), key (2 words), expected output (4 words). */
static const uint32_t kat[3][10] = {
    {0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u, 0x00000000u,
     0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u},
    {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu,
     0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu},
    {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u,
     0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u},
};

static void philox_matches_random123_known_answers(void)
{
    int v, i;
    for (v = 0; v < 3; ++v) {
        uint32_t out[4];
        fw_philox4x32(kat[v], kat[v] + 4, out);
        for (i = 0; i < 4; ++i) FW_CHECK(out[i] == kat[v][6 + i]);
    }
}

/* An independent Philox4x32-10 for the derivation test: the high word of the 32x32 product from
   16-bit halves (no 64-bit multiply), and the key bumped before rounds 2..10 as in Random123's
   own text. */
static uint32_t ref_mulhi(uint32_t a, uint32_t b)
{
    uint32_t a0 = a & 0xffffu, a1 = a >> 16, b0 = b & 0xffffu, b1 = b >> 16;
    uint32_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
    uint32_t mid = (p00 >> 16) + (p01 & 0xffffu) + (p10 & 0xffffu);
    return p11 + (p01 >> 16) + (p10 >> 16) + (mid >> 16);
}

static void ref_philox(const uint32_t in[4], const uint32_t key_in[2], uint32_t out[4])
{
    uint32_t x[4], k[2], y[4];
    int r;
    x[0] = in[0]; x[1] = in[1]; x[2] = in[2]; x[3] = in[3];
    k[0] = key_in[0]; k[1] = key_in[1];
    for (r = 0; r < 10; ++r) {
        if (r > 0) { k[0] += 0x9E3779B9u; k[1] += 0xBB67AE85u; }
        y[0] = ref_mulhi(0xCD9E8D57u, x[2]) ^ x[1] ^ k[0];
        y[1] = 0xCD9E8D57u * x[2];
        y[2] = ref_mulhi(0xD2511F53u, x[0]) ^ x[3] ^ k[1];
        y[3] = 0xD2511F53u * x[0];
        x[0] = y[0]; x[1] = y[1]; x[2] = y[2]; x[3] = y[3];
    }
    out[0] = x[0]; out[1] = x[1]; out[2] = x[2]; out[3] = x[3];
}

static void reference_philox_agrees_with_known_answers(void)
{
    int v, i;
    for (v = 0; v < 3; ++v) {
        uint32_t out[4];
        ref_philox(kat[v], kat[v] + 4, out);
        for (i = 0; i < 4; ++i) FW_CHECK(out[i] == kat[v][6 + i]);
    }
}

/* The first 1000 normals of (seed, stream) derived from the documented rules, in double. */
static void rng_normals_match_independent_derivation(void)
{
    const uint64_t seed = 0x0123456789abcdefull, stream = 5;
    fw_rng r;
    int i;
    fw_rng_init(&r, seed, stream);
    for (i = 0; i < 1000; i += 2) {
        uint32_t ctr[4], key[2], w[4];
        double u1, u2, rad, z0, z1;
        ctr[0] = (uint32_t)(i / 2); ctr[1] = 0;
        ctr[2] = (uint32_t)stream; ctr[3] = (uint32_t)(stream >> 32);
        key[0] = (uint32_t)seed; key[1] = (uint32_t)(seed >> 32);
        ref_philox(ctr, key, w);
        u1 = ((double)(w[0] >> 5) * 67108864.0 + (double)(w[1] >> 6) + 0.5) / 9007199254740992.0;
        u2 = ((double)(w[2] >> 5) * 67108864.0 + (double)(w[3] >> 6) + 0.5) / 9007199254740992.0;
        rad = sqrt(-2.0 * log(u1));
        z0 = rad * cos(6.283185307179586 * u2);
        z1 = rad * sin(6.283185307179586 * u2);
        /* Double: libm may differ by an ulp or so across platforms. Float: u carries a relative
           rounding of 2^-23 (so ln u an absolute one), theta = 2 pi u2 an absolute error up to
           2 pi 2^-23, which moves z by at most |r| times that, r < 7: all within 64 eps (1+|z|). */
        FW_CHECK_NEAR(fw_rng_normal(&r), z0, 64 * TEST_EPS * (1 + fabs(z0)));
        FW_CHECK_NEAR(fw_rng_normal(&r), z1, 64 * TEST_EPS * (1 + fabs(z1)));
    }
}

static void rng_same_seed_and_stream_reproduce(void)
{
    fw_rng a, b;
    int i;
    fw_rng_init(&a, 99, 3);
    fw_rng_init(&b, 99, 3);
    for (i = 0; i < 257; ++i) FW_CHECK(fw_rng_normal(&a) == fw_rng_normal(&b));
}

static void rng_streams_are_uncorrelated(void)
{
    /* Correlation of 20000 pairs from streams 0 and 1: standard error 1/sqrt(20000) = 0.0071,
       checked at 5 standard errors. Different streams must also differ in their first draw. */
    const int n = 20000;
    fw_rng a, b;
    double sab = 0, saa = 0, sbb = 0;
    int i;
    fw_rng_init(&a, 7, 0);
    fw_rng_init(&b, 7, 1);
    for (i = 0; i < n; ++i) {
        double x = fw_rng_normal(&a), y = fw_rng_normal(&b);
        FW_CHECK(i > 0 || x != y);
        sab += x * y; saa += x * x; sbb += y * y;
    }
    FW_CHECK_NEAR(sab / sqrt(saa * sbb), 0, 5 / sqrt((double)n));
}

static void rng_normal_has_unit_moments(void)
{
    /* n = 200000 draws: se(mean) = 1/sqrt(n), se(var) = sqrt(2/n), se(4th moment) = sqrt(96/n);
       each checked at 5 standard errors. */
    const int n = 200000;
    fw_rng r;
    double s1 = 0, s2 = 0, s4 = 0;
    int i;
    fw_rng_init(&r, 2024, 0);
    for (i = 0; i < n; ++i) {
        double z = fw_rng_normal(&r);
        s1 += z; s2 += z * z; s4 += z * z * z * z;
    }
    FW_CHECK_NEAR(s1 / n, 0, 5 / sqrt((double)n));
    FW_CHECK_NEAR(s2 / n, 1, 5 * sqrt(2.0 / n));
    FW_CHECK_NEAR(s4 / n, 3, 5 * sqrt(96.0 / n));
}

static void rng_uniform_is_inside_open_interval_with_right_mean(void)
{
    /* Mean of n uniforms: se = sqrt(1/12/n), checked at 5 se. */
    const int n = 100000;
    fw_rng r;
    double s = 0;
    int i;
    fw_rng_init(&r, 11, 4);
    for (i = 0; i < n; ++i) {
        fw_real u = fw_rng_uniform(&r);
        FW_CHECK(u > 0 && u < 1);
        s += u;
    }
    FW_CHECK_NEAR(s / n, 0.5, 5 * sqrt(1.0 / 12 / n));
}

static void rng_counter_carries_into_high_word(void)
{
    fw_rng r;
    uint32_t ref[4];
    uint32_t ctr[4];
    fw_rng_init(&r, 1, 2);
    r.ctr[0] = 0xffffffffu;
    (void)fw_rng_u32(&r);        /* block 2^32 - 1 */
    (void)fw_rng_u32(&r); (void)fw_rng_u32(&r); (void)fw_rng_u32(&r);
    ctr[0] = 0; ctr[1] = 1; ctr[2] = 2; ctr[3] = 0;
    fw_philox4x32(ctr, r.key, ref);
    FW_CHECK(fw_rng_u32(&r) == ref[0]);
}

static void rng_fill_normal_scales_and_rejects_bad_input(void)
{
    fw_rng a, b;
    fw_real x[5];
    int i;
    fw_rng_init(&a, 5, 5);
    fw_rng_init(&b, 5, 5);
    FW_CHECK_STATUS(fw_rng_fill_normal(&a, x, 5, 3), FW_OK);
    for (i = 0; i < 5; ++i) FW_CHECK_NEAR(x[i], 3 * fw_rng_normal(&b), 4 * TEST_EPS * fabs((double)x[i]));
    FW_CHECK_STATUS(fw_rng_fill_normal(NULL, x, 5, 1), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_rng_fill_normal(&a, NULL, 5, 1), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_rng_fill_normal(&a, x, 0, 1), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_rng_fill_normal(&a, x, -3, 1), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_rng_fill_normal(&a, x, 5, (fw_real)NAN), FW_ERR_NONFINITE);
    FW_CHECK_STATUS(fw_rng_fill_normal(&a, x, 5, (fw_real)INFINITY), FW_ERR_NONFINITE);
    FW_CHECK(fw_rng_u32(NULL) == 0);
    FW_CHECK(fw_rng_normal(NULL) != fw_rng_normal(NULL)); /* NaN */
    FW_CHECK(fw_rng_uniform(NULL) != fw_rng_uniform(NULL));
}

const fw_test_case fw_tests_rng[] = {
    FW_TEST(philox_matches_random123_known_answers),
    FW_TEST(reference_philox_agrees_with_known_answers),
    FW_TEST(rng_normals_match_independent_derivation),
    FW_TEST(rng_same_seed_and_stream_reproduce),
    FW_TEST(rng_streams_are_uncorrelated),
    FW_TEST(rng_normal_has_unit_moments),
    FW_TEST(rng_uniform_is_inside_open_interval_with_right_mean),
    FW_TEST(rng_counter_carries_into_high_word),
    FW_TEST(rng_fill_normal_scales_and_rejects_bad_input),
    {NULL, NULL}
};
