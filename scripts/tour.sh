#!/usr/bin/env bash
# The README's tour against a running API (`make run`): an instructor publishes a course, an admin
# approves it, a student buys it on the Razorpay stand-in, completes it and gets the certificate;
# then the leaderboard, the forum and an admin report. The suite runs this script (tests/test_live_walkthroughs.py).
# Needs curl and python3 (for JSON; jq is not required).
#   BASE=http://127.0.0.1:5000 RAZORPAY_STANDIN=http://127.0.0.1:5010 ./scripts/tour.sh
set -euo pipefail

BASE=${BASE:-http://127.0.0.1:5000}
RAZORPAY_STANDIN=${RAZORPAY_STANDIN:-http://127.0.0.1:5010}
ADMIN_EMAIL=${ADMIN_EMAIL:-admin@example.com}
ADMIN_PASSWORD=${ADMIN_PASSWORD:-demo-admin-pass}   # the embedded default's demo admin (README)
PYTHON=${PYTHON:-python3}
RUN=$(date +%s)$$

# field PATH: read JSON on stdin, print the value at a dotted path (items.0.id).
field() {
  "$PYTHON" -c 'import json, sys
value = json.load(sys.stdin)
for key in sys.argv[1].split("."):
    value = value[int(key)] if isinstance(value, list) else value[key]
print(json.dumps(value) if isinstance(value, (dict, list)) else value)' "$1"
}

# api METHOD PATH [JSON]: call the API with $TOKEN (if set); fails the tour on any 4xx/5xx.
api() {
  local args=(-sS --fail-with-body -X "$1" "$BASE$2" -H "Accept: application/json")
  [ -n "${TOKEN:-}" ] && args+=(-H "Authorization: Bearer $TOKEN")
  [ $# -ge 3 ] && args+=(-H "Content-Type: application/json" --data "$3")
  curl "${args[@]}"
}

step() { printf '\n== %s\n' "$*"; }

step "1. An instructor registers"
TOKEN=
INSTRUCTOR=$(api POST /api/auth/register \
  "{\"email\": \"tour-teacher-$RUN@example.com\", \"password\": \"tour-password-1\", \"name\": \"Tour Teacher\", \"role\": \"instructor\"}")
INSTRUCTOR_TOKEN=$(echo "$INSTRUCTOR" | field access_token)
echo "instructor $(echo "$INSTRUCTOR" | field user.id)"

step "2. ... creates a course, a module and a lesson, and submits it for review"
TOKEN=$INSTRUCTOR_TOKEN
COURSE=$(api POST /api/courses \
  "{\"title\": \"Tour course $RUN\", \"description\": \"Made by scripts/tour.sh\", \"domain\": \"programming\", \"price\": 49900, \"currency\": \"INR\"}" | field id)
MODULE=$(api POST "/api/courses/$COURSE/modules" '{"title": "Getting started"}' | field id)
LESSON=$(api POST "/api/modules/$MODULE/lessons" \
  '{"title": "Hello", "video_url": "https://videos.example.com/hello.mp4"}' | field id)
echo "course $COURSE: $(api POST "/api/courses/$COURSE/submit" | field status)"

step "3. The admin approves it"
TOKEN=
ADMIN_TOKEN=$(api POST /api/auth/login "{\"email\": \"$ADMIN_EMAIL\", \"password\": \"$ADMIN_PASSWORD\"}" | field access_token)
TOKEN=$ADMIN_TOKEN
echo "course $COURSE: $(api POST "/api/admin/courses/$COURSE/approve" | field status)"

step "4. A student registers and finds it in the catalogue"
TOKEN=
STUDENT_TOKEN=$(api POST /api/auth/register \
  "{\"email\": \"tour-student-$RUN@example.com\", \"password\": \"tour-password-2\", \"name\": \"Tour Student\"}" | field access_token)
TOKEN=$STUDENT_TOKEN
echo "found: $(api GET "/api/courses?q=Tour+course+$RUN" | field items.0.title)"
api GET "/api/courses/$COURSE" | field modules.0.lessons.0.title

step "5. ... buys it: an order, Checkout on the Razorpay stand-in, verification"
ORDER=$(api POST /api/payments/order "{\"course_id\": $COURSE}")
ORDER_ID=$(echo "$ORDER" | field order_id)
echo "order $ORDER_ID for $(echo "$ORDER" | field amount) $(echo "$ORDER" | field currency)"
CHECKOUT=$(curl -sS --fail-with-body -X POST "$RAZORPAY_STANDIN/_standin/checkout" \
  -H "Content-Type: application/json" --data "{\"order_id\": \"$ORDER_ID\", \"outcome\": \"captured\"}")
VERIFY="{\"razorpay_order_id\": \"$ORDER_ID\", \"razorpay_payment_id\": \"$(echo "$CHECKOUT" | field razorpay_payment_id)\", \"razorpay_signature\": \"$(echo "$CHECKOUT" | field razorpay_signature)\"}"
VERIFIED=$(api POST /api/payments/verify "$VERIFY")
echo "payment $(echo "$VERIFIED" | field payment_id): $(echo "$VERIFIED" | field payment_status)"
for _ in $(seq 50); do  # with a worker, enrollment finishes in a job: poll it
  [ "$(api GET /api/me/enrollments | field total)" -ge 1 ] && break
  sleep 0.2
done

step "6. ... completes the lesson: the course is complete and the certificate issued"
api POST "/api/lessons/$LESSON/complete" | field course_completed
CERTIFICATE=$(api GET /api/me/certificates | field items.0)
CODE=$(echo "$CERTIFICATE" | field verification_code)
echo "certificate $(echo "$CERTIFICATE" | field id) for $(echo "$CERTIFICATE" | field course_title)"
TOKEN=
echo "public check: $(api GET "/api/certificates/verify/$CODE" | field status)"

step "7. The weekly leaderboard"
api GET "/api/leaderboard?period=weekly&limit=3" | field items

step "8. The forum: the student asks, the instructor answers, the student accepts"
TOKEN=$STUDENT_TOKEN
POST=$(api POST "/api/courses/$COURSE/posts" '{"title": "Where are the slides?", "body": "Are they in the materials?"}' | field id)
TOKEN=$INSTRUCTOR_TOKEN
REPLY=$(api POST "/api/posts/$POST/replies" '{"body": "Under the first lesson."}' | field id)
TOKEN=$STUDENT_TOKEN
api POST "/api/posts/$POST/accept" "{\"reply_id\": $REPLY}" | field accepted_reply_id

step "9. The admin exports the enrollments report"
TOKEN=$ADMIN_TOKEN
JOB=$(api POST /api/admin/reports '{"type": "enrollments", "format": "csv"}' | field job_id)
for _ in $(seq 100); do
  STATUS=$(api GET "/api/jobs/$JOB" | field status)
  [ "$STATUS" = succeeded ] || [ "$STATUS" = failed ] && break
  sleep 0.2
done
[ "$STATUS" = succeeded ] || { echo "report job $JOB: $STATUS" >&2; exit 1; }
REPORT=$(api GET "/api/admin/reports/$JOB/download")
echo "report columns: ${REPORT%%$'\n'*}"
echo "students: $(api GET /api/admin/stats | field users.students)"

printf '\nTOUR-OK\n'
