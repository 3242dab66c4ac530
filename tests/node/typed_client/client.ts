// A small typed client over the generated contract (api.d.ts from openapi-typescript): the suite
// compiles it with `tsc --strict`, so a contract change that would break a front end fails the build.
import type { components, operations } from "./api";

type Schemas = components["schemas"];
type JsonOf<R> = R extends { content: { "application/json": infer B } } ? B : never;
type Body<Op> = Op extends { requestBody: { content: { "application/json": infer B } } } ? B : never;
type Answer<Op, Code extends number> = Op extends { responses: infer R }
  ? Code extends keyof R
    ? JsonOf<R[Code]>
    : never
  : never;
type ApiError = Schemas["Error"];

export class CourseHubError extends Error {
  constructor(readonly status: number, readonly body: ApiError, readonly retryAfter: number | null) {
    super(`${body.code} ${body.status}: ${body.message}`);
  }
}

export class CourseHub {
  private accessToken: string | null = null;
  private refreshToken: string | null = null;

  constructor(private readonly baseUrl: string) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (this.accessToken !== null) headers["Authorization"] = `Bearer ${this.accessToken}`;
    const init: RequestInit = { method, headers };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await fetch(this.baseUrl + path, init);
    if (!response.ok) {
      const retry = response.headers.get("Retry-After");
      throw new CourseHubError(response.status, (await response.json()) as ApiError, retry ? Number(retry) : null);
    }
    return (await response.json()) as T;
  }

  async login(credentials: Body<operations["login"]>): Promise<Schemas["User"]> {
    const tokens = await this.call<Answer<operations["login"], 200>>("POST", "/api/auth/login", credentials);
    this.accessToken = tokens.access_token;
    this.refreshToken = tokens.refresh_token;
    return tokens.user;
  }

  async refresh(): Promise<void> {
    if (this.refreshToken === null) throw new Error("not logged in");
    const access = this.accessToken;
    this.accessToken = this.refreshToken;
    try {
      const tokens = await this.call<Answer<operations["refreshTokens"], 200>>("POST", "/api/auth/refresh");
      this.accessToken = tokens.access_token;
      this.refreshToken = tokens.refresh_token;
    } catch (error) {
      this.accessToken = access;
      throw error;
    }
  }

  me(): Promise<Answer<operations["getMe"], 200>> {
    return this.call("GET", "/api/auth/me");
  }

  listCourses(query: NonNullable<operations["listCourses"]["parameters"]["query"]> = {}) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined) params.set(key, String(value));
    return this.call<Answer<operations["listCourses"], 200>>("GET", `/api/courses?${params.toString()}`);
  }

  getCourse(courseId: number) {
    return this.call<Answer<operations["getCourse"], 200>>("GET", `/api/courses/${courseId}`);
  }

  createOrder(courseId: number) {
    const body: Body<operations["createOrder"]> = { course_id: courseId };
    return this.call<Answer<operations["createOrder"], 201>>("POST", "/api/payments/order", body);
  }

  verifyPayment(checkout: Body<operations["verifyPayment"]>) {
    return this.call<Answer<operations["verifyPayment"], 200>>("POST", "/api/payments/verify", checkout);
  }

  getPayment(paymentId: number) {
    return this.call<Answer<operations["getPayment"], 200>>("GET", `/api/payments/${paymentId}`);
  }

  getJob(jobId: string) {
    return this.call<Answer<operations["getJob"], 200>>("GET", `/api/jobs/${jobId}`);
  }

  completeLesson(lessonId: number) {
    return this.call<Answer<operations["completeLesson"], 200>>("POST", `/api/lessons/${lessonId}/complete`);
  }

  courseProgress(courseId: number) {
    return this.call<Answer<operations["getCourseProgress"], 200>>("GET", `/api/me/courses/${courseId}/progress`);
  }

  myCertificates() {
    return this.call<Answer<operations["listMyCertificates"], 200>>("GET", "/api/me/certificates");
  }

  leaderboard(period: "weekly" | "monthly" = "weekly") {
    return this.call<Answer<operations["getLeaderboard"], 200>>("GET", `/api/leaderboard?period=${period}`);
  }
}

// The main flow a storefront runs: log in, browse, buy with Checkout, learn, get the certificate.
export async function purchaseToCertificate(
  api: CourseHub,
  credentials: Body<operations["login"]>,
  checkout: (order: Schemas["Order"]) => Promise<Body<operations["verifyPayment"]>>,
): Promise<Schemas["Certificate"] | null> {
  const user: Schemas["User"] = await api.login(credentials);
  const name: string = user.name;
  const page = await api.listCourses({ sort: "price", per_page: 10 });
  const paid: Schemas["Course"] | undefined = page.items.find((course) => course.price > 0);
  if (paid === undefined) return null;
  const outline = await api.getCourse(paid.id);
  const order: Schemas["Order"] = await api.createOrder(outline.id);
  const ours: number = order.id;
  const verified = await api.verifyPayment(await checkout(order));
  const razorpayPaymentId: string | null = verified.payment_id;
  if (!verified.enrolled && verified.job_id !== null) {
    const job = await api.getJob(verified.job_id);
    const finished: boolean = job.status === "succeeded";
    if (!finished) return null;
  }
  const payment = await api.getPayment(ours);
  if (payment.payment_id !== razorpayPaymentId) throw new Error(`payment ${payment.id} of ${name} mismatched`);
  for (const module of outline.modules) {
    for (const lesson of module.lessons) {
      const done = await api.completeLesson(lesson.id);
      const xp: number = done.xp_awarded;
      if (xp < 0) throw new Error("negative XP");
    }
  }
  const progress = await api.courseProgress(outline.id);
  const percent: number = progress.progress.percent;
  if (percent < 100) return null;
  const certificates = await api.myCertificates();
  const certificate = certificates.items.find((c) => c.course_id === outline.id) ?? null;
  if (certificate !== null && certificate.cert_url !== null) {
    const link: string = certificate.cert_url;
    const verify: string = certificate.verification_url;
    const valid: boolean = certificate.valid;
    if (!valid || !link.startsWith("http") || !verify.startsWith("http")) return null;
  }
  const board = await api.leaderboard();
  const top: number | undefined = board.items[0]?.points;
  if (top !== undefined && top < 0) throw new Error("negative points");
  return certificate;
}
