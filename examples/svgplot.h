/* svgplot.h: a small SVG plotting helper for the finwidth examples (not part of the library).

   One figure = 1..4 panels side by side; a panel = axes (linear or log), labels, a legend and up
   to SVG_MAX_SERIES series, each a line or points with optional error bars. Every series is
   written as <g class="series" data-name="NAME"> so a test can find it by name.

       svg_panel p;
       svg_panel_init(&p, "Var f(t)", "step t", "N Var f");
       svg_add(&p, "theory", SVG_LINE, 0, n, t, v, NULL);
       svg_add(&p, "N = 64", SVG_POINTS, 1, n, t, v64, se64);
       svg_write("fig.svg", "title", &p, 1);

   Use it in one translation unit (the functions are static). Non-finite values and, on log
   axes, values <= 0 are skipped. svg_write returns 0 on success, -1 if the file cannot be
   written. */
#ifndef SVGPLOT_H
#define SVGPLOT_H

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SVG_MAX_SERIES 12
#define SVG_PANEL_W 460.0
#define SVG_PANEL_H 300.0

enum { SVG_LINE = 0, SVG_POINTS = 1, SVG_DASHED = 2 };

typedef struct svg_series {
    const char *name;
    int style, color, n;
    const double *x, *y, *err;   /* err may be NULL; the arrays must outlive svg_write */
} svg_series;

typedef struct svg_panel {
    const char *title, *xlabel, *ylabel;
    int logx, logy, n_series;
    int legend_out;   /* 1: the legend in a column right of the axes instead of inside them */
    svg_series s[SVG_MAX_SERIES];
} svg_panel;

static const char *const svg_palette[8] = {"#1f4e9c", "#d1495b", "#2a9d55", "#e69f00",
                                           "#7b3fa0", "#555555", "#00a3b4", "#a0522d"};

static void svg_panel_init(svg_panel *p, const char *title, const char *xlabel, const char *ylabel)
{
    memset(p, 0, sizeof *p);
    p->title = title; p->xlabel = xlabel; p->ylabel = ylabel;
}

/* Adds a series (silently ignored beyond SVG_MAX_SERIES). color indexes the palette. */
static void svg_add(svg_panel *p, const char *name, int style, int color, int n, const double *x,
                    const double *y, const double *err)
{
    svg_series *s;
    if (p->n_series >= SVG_MAX_SERIES) return;
    s = &p->s[p->n_series++];
    s->name = name; s->style = style; s->color = color; s->n = n; s->x = x; s->y = y; s->err = err;
}

/* XML-escaped text. */
static void svg_text(FILE *fp, const char *t)
{
    for (; t != NULL && *t; ++t) {
        if (*t == '<') fputs("&lt;", fp);
        else if (*t == '>') fputs("&gt;", fp);
        else if (*t == '&') fputs("&amp;", fp);
        else if (*t == '"') fputs("&quot;", fp);
        else fputc(*t, fp);
    }
}

static int svg_ok(double v, int logscale) { return isfinite(v) && (!logscale || v > 0); }

/* Data range of one axis over all series (with error bars on y); lo = hi = 0 when empty. */
static void svg_range(const svg_panel *p, int axis, double *lo, double *hi)
{
    const int lg = axis ? p->logy : p->logx;
    int k, i, any = 0;
    *lo = *hi = 0;
    for (k = 0; k < p->n_series; ++k)
        for (i = 0; i < p->s[k].n; ++i) {
            double v = axis ? p->s[k].y[i] : p->s[k].x[i], e = axis && p->s[k].err ? p->s[k].err[i] : 0, a, b;
            if (!svg_ok(p->s[k].x[i], p->logx) || !svg_ok(p->s[k].y[i], p->logy)) continue;
            if (!isfinite(e)) e = 0;
            a = v - e; b = v + e;
            if (lg && a <= 0) a = v;
            if (!any || a < *lo) *lo = a;
            if (!any || b > *hi) *hi = b;
            any = 1;
        }
    if (!any) { *lo = lg ? 1 : 0; *hi = lg ? 10 : 1; }
}

/* A "nice" step (1, 2 or 5 times a power of ten) for about n ticks over [lo, hi]. */
static double svg_step(double lo, double hi, int n)
{
    double raw = (hi - lo) / n, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

typedef struct svg_axis { double lo, hi, a0, a1; int lg; } svg_axis;   /* data [lo,hi] -> pixels [a0,a1] */

static double svg_map(const svg_axis *a, double v)
{
    double u = a->lg ? (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo)) : (v - a->lo) / (a->hi - a->lo);
    return a->a0 + u * (a->a1 - a->a0);
}

/* Pads the data range and rounds it outward to ticks. */
static void svg_axis_fit(svg_axis *a, double lo, double hi, int lg)
{
    a->lg = lg;
    if (lg) {
        /* the nearest 1, 2, 5 x 10^k outside the data */
        static const double m[4] = {1, 2, 5, 10};
        double dlo = pow(10, floor(log10(lo) + 1e-9)), dhi = pow(10, floor(log10(hi) - 1e-9));
        int j;
        for (j = 2; j >= 0 && dlo * m[j] > lo * (1 + 1e-9); --j) {}
        a->lo = dlo * m[j < 0 ? 0 : j];
        for (j = 0; j < 4 && dhi * m[j] < hi * (1 - 1e-9); ++j) {}
        a->hi = dhi * m[j > 3 ? 3 : j];
        if (a->hi <= a->lo) a->hi = a->lo * 10;
    } else {
        double st;
        if (hi <= lo) { double c = lo; lo = c - (c == 0 ? 1 : fabs(c) * 0.1); hi = c + (c == 0 ? 1 : fabs(c) * 0.1); }
        st = svg_step(lo, hi, 5);
        a->lo = floor(lo / st + 1e-9) * st;
        a->hi = ceil(hi / st - 1e-9) * st;
    }
}

static void svg_tick_label(FILE *fp, double v, int lg)
{
    if (lg) {
        int e = (int)floor(log10(v) + 0.5);
        if (e >= -2 && e <= 3) fprintf(fp, "%g", v);
        else fprintf(fp, "1e%d", e);
    } else {
        fprintf(fp, "%g", fabs(v) < 1e-12 ? 0.0 : v);
    }
}

/* One tick at value v: a grid line across the axes (other0 .. other1) and its label. */
static void svg_tick(FILE *fp, const svg_axis *a, int vertical, double v, double other0, double other1)
{
    const double pix = svg_map(a, v);
    if (vertical) {
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n", other0, pix, other1, pix);
        fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">", other0 - 5, pix + 4);
    } else {
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n", pix, other0, pix, other1);
        fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", pix, other0 + 16);
    }
    svg_tick_label(fp, v, a->lg);
    fputs("</text>\n", fp);
}

static void svg_ticks(FILE *fp, const svg_axis *a, int vertical, double other0, double other1)
{
    double v;
    if (a->lg) {
        double dec;
        const int few = log10(a->hi / a->lo) < 2.5;
        for (dec = pow(10, floor(log10(a->lo) + 1e-9)); dec <= a->hi * 1.0001; dec *= 10) {
            static const double sub[3] = {1, 2, 5};
            int j;
            for (j = 0; j < (few ? 3 : 1); ++j) {
                v = dec * sub[j];
                if (v > a->hi * 1.0001) break;
                if (v >= a->lo * 0.9999) svg_tick(fp, a, vertical, v, other0, other1);
            }
        }
        return;
    }
    {
        const double st = svg_step(a->lo, a->hi, 5);
        for (v = a->lo; v <= a->hi + st * 1e-6; v += st) svg_tick(fp, a, vertical, v, other0, other1);
    }
}

static void svg_series_draw(FILE *fp, const svg_panel *p, const svg_series *s, const svg_axis *ax, const svg_axis *ay)
{
    const char *col = svg_palette[(s->color % 8 + 8) % 8];
    int i, pen = 0;
    fputs("<g class=\"series\" data-name=\"", fp);
    svg_text(fp, s->name);
    fputs("\">\n", fp);
    if (s->style != SVG_POINTS) {
        fprintf(fp, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"1.8\"%s d=\"", col,
                s->style == SVG_DASHED ? " stroke-dasharray=\"6 4\"" : "");
        for (i = 0; i < s->n; ++i) {
            if (!svg_ok(s->x[i], p->logx) || !svg_ok(s->y[i], p->logy)) { pen = 0; continue; }
            fprintf(fp, "%c%.1f %.1f ", pen ? 'L' : 'M', svg_map(ax, s->x[i]), svg_map(ay, s->y[i]));
            pen = 1;
        }
        fputs("\"/>\n", fp);
    }
    for (i = 0; s->style == SVG_POINTS && i < s->n; ++i) {
        double px, py;
        if (!svg_ok(s->x[i], p->logx) || !svg_ok(s->y[i], p->logy)) continue;
        px = svg_map(ax, s->x[i]); py = svg_map(ay, s->y[i]);
        if (s->err != NULL && isfinite(s->err[i]) && s->err[i] > 0) {
            double lo = s->y[i] - s->err[i], hi = s->y[i] + s->err[i];
            if (p->logy && lo <= 0) lo = ay->lo;
            if (lo < ay->lo) lo = ay->lo;
            if (hi > ay->hi) hi = ay->hi;
            fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", px, svg_map(ay, lo), px, svg_map(ay, hi), col);
        }
        fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", px, py, col);
    }
    fputs("</g>\n", fp);
}

static void svg_panel_draw(FILE *fp, const svg_panel *p, double x0)
{
    const double L = x0 + 62, T = 34, B = SVG_PANEL_H - 44;
    double R = x0 + SVG_PANEL_W - 12;
    svg_axis ax, ay;
    double lo, hi, legend_w, legend_x;
    size_t wmax = 0;
    int k;
    for (k = 0; k < p->n_series; ++k) wmax = strlen(p->s[k].name) > wmax ? strlen(p->s[k].name) : wmax;
    legend_w = 34 + 6.2 * (double)wmax;
    if (p->legend_out) R -= legend_w + 8;
    legend_x = p->legend_out ? R + 8 : R - legend_w - 4;
    svg_range(p, 0, &lo, &hi);
    svg_axis_fit(&ax, lo, hi, p->logx);
    svg_range(p, 1, &lo, &hi);
    svg_axis_fit(&ay, lo, hi, p->logy);
    ax.a0 = L; ax.a1 = R; ay.a0 = B; ay.a1 = T;
    fprintf(fp, "<g class=\"panel\" font-family=\"sans-serif\" font-size=\"11\">\n");
    svg_ticks(fp, &ax, 0, B, T);
    svg_ticks(fp, &ay, 1, L, R);
    fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333\"/>\n", L, T, R - L, B - T);
    fprintf(fp, "<text x=\"%.1f\" y=\"20\" text-anchor=\"middle\" font-size=\"13\" font-weight=\"bold\">", (L + R) / 2);
    svg_text(fp, p->title);
    fprintf(fp, "</text>\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", (L + R) / 2, B + 34);
    svg_text(fp, p->xlabel);
    fprintf(fp, "</text>\n<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\">", x0 + 14, (T + B) / 2);
    svg_text(fp, p->ylabel);
    fputs("</text>\n", fp);
    fprintf(fp, "<clipPath id=\"c%d\"><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/></clipPath>\n", (int)x0, L, T, R - L, B - T);
    fprintf(fp, "<g clip-path=\"url(#c%d)\">\n", (int)x0);
    for (k = 0; k < p->n_series; ++k) svg_series_draw(fp, p, &p->s[k], &ax, &ay);
    fputs("</g>\n", fp);
    /* legend: top right inside the axes (or right of them), on a white box sized for the longest name */
    if (p->n_series > 0)
        fprintf(fp, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"white\" fill-opacity=\"0.85\" stroke=\"#ccc\"/>\n",
                legend_x, T + 3, legend_w, 15.0 * p->n_series + 6);
    for (k = 0; k < p->n_series; ++k) {
        const double ly = T + 16 + 15 * k, lx = legend_x + 4;
        const char *col = svg_palette[(p->s[k].color % 8 + 8) % 8];
        if (p->s[k].style == SVG_POINTS)
            fprintf(fp, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", lx + 10, ly - 4, col);
        else
            fprintf(fp, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"1.8\"%s/>\n", lx,
                    ly - 4, lx + 20, ly - 4, col, p->s[k].style == SVG_DASHED ? " stroke-dasharray=\"6 4\"" : "");
        fprintf(fp, "<text x=\"%.1f\" y=\"%.1f\">", lx + 26, ly);
        svg_text(fp, p->s[k].name);
        fputs("</text>\n", fp);
    }
    fputs("</g>\n", fp);
}

static int svg_write(const char *path, const char *title, const svg_panel *panels, int n_panels)
{
    FILE *fp = fopen(path, "w");
    const double W = SVG_PANEL_W * n_panels, H = SVG_PANEL_H + 24;
    int k;
    if (fp == NULL) return -1;
    fprintf(fp, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
            W, H, W, H);
    fputs("<title>", fp);
    svg_text(fp, title);
    fputs("</title>\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<g transform=\"translate(0 24)\">\n", fp);
    for (k = 0; k < n_panels; ++k) svg_panel_draw(fp, &panels[k], SVG_PANEL_W * k);
    fputs("</g>\n</svg>\n", fp);
    return fclose(fp) == 0 ? 0 : -1;
}

#endif /* SVGPLOT_H */
