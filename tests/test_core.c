/* Core tests: status strings, arena, allocator failure, activations. */
#include "fw_test.h"
#include <string.h>

static void status_strings_are_distinct_sentences(void)
{
    int a, b;
    for (a = 0; a < FW_STATUS_COUNT; ++a) {
        const char *sa = fw_status_string((fw_status)a);
        FW_CHECK(sa != NULL && strlen(sa) > 5);
        for (b = 0; b < a; ++b) FW_CHECK(strcmp(sa, fw_status_string((fw_status)b)) != 0);
    }
    FW_CHECK(strstr(fw_status_string((fw_status)999), "unknown") != NULL);
}

static void arena_measures_what_it_later_lays_out(void)
{
    /* Measuring mode counts worst-case alignment; a buffer of exactly that size must then hold
       the same pushes at any starting offset. */
    static unsigned char buf[1024];
    size_t sizes[3] = {10, 64, 100};
    fw_arena m, a;
    int off, i;
    fw_arena_init(&m, NULL, 0);
    for (i = 0; i < 3; ++i) FW_CHECK(fw_arena_push(&m, sizes[i]) == NULL);
    FW_CHECK(m.used == 63 + 64 + 64 + 128);
    for (off = 0; off < 64; ++off) {
        fw_arena_init(&a, buf + off, m.used);
        for (i = 0; i < 3; ++i) {
            void *p = fw_arena_push(&a, sizes[i]);
            FW_CHECK(p != NULL);
            FW_CHECK(((uintptr_t)p & (FW_ALIGN - 1)) == 0);
        }
        FW_CHECK(!a.failed);
    }
}

static void arena_reports_a_push_that_does_not_fit(void)
{
    static unsigned char buf[256];
    fw_arena a;
    fw_arena_init(&a, buf, sizeof buf);
    FW_CHECK(fw_arena_push(&a, 128) != NULL);
    FW_CHECK(fw_arena_push(&a, 200) == NULL);
    FW_CHECK(a.failed);
    FW_CHECK(fw_arena_push(NULL, 8) == NULL);
    fw_arena_init(&a, buf, sizeof buf);
    FW_CHECK(fw_arena_push(&a, (size_t)-8) == NULL);   /* size overflow when rounded */
    FW_CHECK(a.failed);
}

static void allocator_with_only_one_member_is_rejected(void)
{
    fw_real A[1] = {1}, E[1];
    test_counting_alloc st = {0, 0, 0};
    fw_allocator al = test_counting_allocator(&st);
    al.free = NULL;
    FW_CHECK_STATUS(fw_expm_sym(1, 1, A, 1, E, 1, &al), FW_ERR_ARG);
    FW_CHECK(st.calls == 0);
}

static void allocation_failure_at_every_call_gives_nomem_without_leak(void)
{
    /* Fail the k-th allocator call for k = 1, 2, ... until a run makes no failing call; every
       failing run must return FW_ERR_NOMEM with nothing left allocated. */
    fw_real A[4] = {2, 1, 1, 3}, E[4];
    int k, done = 0;
    for (k = 1; k < 50 && !done; ++k) {
        test_counting_alloc st = {0, 0, 0};
        fw_allocator al;
        fw_status s;
        st.fail_at = k;
        al = test_counting_allocator(&st);
        s = fw_expm_sym(2, 1, A, 2, E, 2, &al);
        FW_CHECK(st.live == 0);
        if (st.calls < k) { FW_CHECK_STATUS(s, FW_OK); done = 1; }
        else FW_CHECK_STATUS(s, FW_ERR_NOMEM);
    }
    FW_CHECK(done);
}

static void workspace_variant_needs_no_allocator_and_checks_size(void)
{
    static unsigned char buf[4096 + 64];
    fw_real A[9] = {2, 0, 0, 1, 3, 0, 0, 1, 4}, E[9], E2[9];
    size_t need = 0;
    /* A start one byte past a 64-byte boundary needs the full 63-byte alignment pad: the
       worst case the size query provides for, so one byte less must fail. */
    unsigned char *worst = buf + (65 - (size_t)((uintptr_t)buf % 64)) % 64;
    int i;
    FW_CHECK_STATUS(fw_expm_sym_workspace_size(3, &need), FW_OK);
    FW_CHECK(need > 0 && need <= 4096);
    FW_CHECK_STATUS(fw_expm_sym_ws(3, 1, A, 3, E, 3, worst, need), FW_OK);
    FW_CHECK_STATUS(fw_expm_sym_ws(3, 1, A, 3, E2, 3, worst, need - 1), FW_ERR_WORKSPACE);
    FW_CHECK_STATUS(fw_expm_sym(3, 1, A, 3, E2, 3, NULL), FW_OK);
    for (i = 0; i < 9; ++i) FW_CHECK(E[i] == E2[i]);
    FW_CHECK_STATUS(fw_expm_sym_ws(3, 1, A, 3, E, 3, NULL, need), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_expm_sym_workspace_size(0, &need), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_expm_sym_workspace_size(3, NULL), FW_ERR_NULL);
}

static void activation_values_match_known_numbers(void)
{
    /* erf(1) and tanh(0.5) to 16 digits (Abramowitz & Stegun tables); tolerance a few ulps. */
    FW_CHECK_NEAR(fw_act(FW_ACT_ERF, 1), 0.8427007929497149, 4 * TEST_EPS);
    FW_CHECK_NEAR(fw_act(FW_ACT_TANH, (fw_real)0.5), 0.46211715726000974, 4 * TEST_EPS);
    FW_CHECK(fw_act(FW_ACT_RELU, -2) == 0 && fw_act(FW_ACT_RELU, 3) == 3);
    FW_CHECK(fw_act(FW_ACT_LINEAR, -2) == -2);
    FW_CHECK(fw_act_d1(FW_ACT_RELU, -1) == 0 && fw_act_d1(FW_ACT_RELU, 1) == 1);
    FW_CHECK(fw_act_d1(FW_ACT_RELU, 0) == 0);
    FW_CHECK_NEAR(fw_act_d1(FW_ACT_ERF, 0), 1.1283791670955126, 4 * TEST_EPS);
    FW_CHECK(fw_act((fw_activation)9, 1) != fw_act((fw_activation)9, 1));   /* NaN */
    FW_CHECK(fw_act_d1((fw_activation)9, 1) != fw_act_d1((fw_activation)9, 1));
    FW_CHECK(fw_act_d2((fw_activation)9, 1) != fw_act_d2((fw_activation)9, 1));
}

static void activation_derivatives_match_finite_differences(void)
{
    /* Central differences with step h have error h^2 |f'''| / 6 plus rounding eps |f| / h;
       h = eps^(1/3) balances them at about 3 eps^(2/3) for the O(1) functions here. ReLU is
       tested away from its kink. */
    const double h = cbrt(TEST_EPS);
    const double tol = 20 * pow(TEST_EPS, 2.0 / 3.0);
    const fw_real xs[6] = {(fw_real)-1.7, (fw_real)-0.4, (fw_real)0.3, (fw_real)0.9, (fw_real)1.6, (fw_real)2.5};
    int a, i;
    for (a = 0; a < FW_ACT_COUNT; ++a)
        for (i = 0; i < 6; ++i) {
            fw_activation act = (fw_activation)a;
            fw_real x = xs[i], hp = (fw_real)(x + h), hm = (fw_real)(x - h);
            double dh = (double)hp - (double)hm;
            double d1 = ((double)fw_act(act, hp) - (double)fw_act(act, hm)) / dh;
            double d2 = ((double)fw_act_d1(act, hp) - (double)fw_act_d1(act, hm)) / dh;
            FW_CHECK_NEAR(fw_act_d1(act, x), d1, tol);
            FW_CHECK_NEAR(fw_act_d2(act, x), d2, tol);
        }
}

static void activation_vector_form_matches_scalar_and_rejects_bad_input(void)
{
    fw_real x[3] = {(fw_real)-0.5, 0, 2}, phi[3], d1[3], d2[3];
    int i;
    FW_CHECK_STATUS(fw_act_eval(FW_ACT_TANH, 3, x, phi, d1, d2), FW_OK);
    for (i = 0; i < 3; ++i) {
        FW_CHECK(phi[i] == fw_act(FW_ACT_TANH, x[i]));
        FW_CHECK(d1[i] == fw_act_d1(FW_ACT_TANH, x[i]));
        FW_CHECK(d2[i] == fw_act_d2(FW_ACT_TANH, x[i]));
    }
    FW_CHECK_STATUS(fw_act_eval(FW_ACT_ERF, 3, x, NULL, d1, NULL), FW_OK);
    FW_CHECK_STATUS(fw_act_eval(FW_ACT_ERF, 3, NULL, phi, d1, d2), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_act_eval(FW_ACT_ERF, 3, x, NULL, NULL, NULL), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_act_eval(FW_ACT_ERF, 0, x, phi, d1, d2), FW_ERR_SIZE);
    FW_CHECK_STATUS(fw_act_eval((fw_activation)7, 3, x, phi, d1, d2), FW_ERR_ARG);
    FW_CHECK_STATUS(fw_act_eval((fw_activation)-1, 3, x, phi, d1, d2), FW_ERR_ARG);
    x[1] = (fw_real)NAN;
    FW_CHECK_STATUS(fw_act_eval(FW_ACT_RELU, 3, x, phi, d1, d2), FW_ERR_NONFINITE);
    x[1] = (fw_real)-INFINITY;
    FW_CHECK_STATUS(fw_act_eval(FW_ACT_RELU, 3, x, phi, d1, d2), FW_ERR_NONFINITE);
}

static void activation_names_round_trip(void)
{
    int a;
    fw_activation back;
    for (a = 0; a < FW_ACT_COUNT; ++a) {
        FW_CHECK_STATUS(fw_act_parse(fw_act_name((fw_activation)a), &back), FW_OK);
        FW_CHECK(back == (fw_activation)a);
    }
    FW_CHECK(fw_act_name((fw_activation)12) == NULL);
    FW_CHECK_STATUS(fw_act_parse("sigmoid", &back), FW_ERR_ARG);
    FW_CHECK_STATUS(fw_act_parse(NULL, &back), FW_ERR_NULL);
    FW_CHECK_STATUS(fw_act_parse("tanh", NULL), FW_ERR_NULL);
}

const fw_test_case fw_tests_core[] = {
    FW_TEST(status_strings_are_distinct_sentences),
    FW_TEST(arena_measures_what_it_later_lays_out),
    FW_TEST(arena_reports_a_push_that_does_not_fit),
    FW_TEST(allocator_with_only_one_member_is_rejected),
    FW_TEST(allocation_failure_at_every_call_gives_nomem_without_leak),
    FW_TEST(workspace_variant_needs_no_allocator_and_checks_size),
    FW_TEST(activation_values_match_known_numbers),
    FW_TEST(activation_derivatives_match_finite_differences),
    FW_TEST(activation_vector_form_matches_scalar_and_rejects_bad_input),
    FW_TEST(activation_names_round_trip),
    {NULL, NULL}
};
