# shellcheck shell=bash disable=SC2034
# discovery: the base scenario of the service-discovery tests (issue 5).
#
# A shop namespace with 2 replicas of "web" (nginx), 1 "cache"
# (redis-server), the cluster DNS (dnsmasq), 2 client pods (frontend and
# worker: curl, dig, redis-cli), an "api" pod, and one host outside the
# cluster (nginx) known by two names. Phase "initial": everyone talks, the
# api pod is called and calls the cache. At 4 s the api pod is removed; at
# 7 s a report job (another service, namespace and image) comes up with the
# api pod's address, 10.244.1.50, and talks: phase "reused-ip". The flows
# of each client step are exact (cluster.sh: one DNS query per step that
# names a host, then one connection per request).
#
# Sourced by cluster.sh, which defines the functions used here.

scenario discovery "2 web replicas, cache, DNS, 2 clients, an external server; an address reused by a second pod"

subnet 10.244.0.0/16   # pods
subnet 198.51.100.0/24 # "the internet" (TEST-NET-2), on the same bridge
domain cluster.local

pod dns pod=kube-dns-6f8c9d5b7-q4w2n ns=kube-system \
	image=registry.example.com/infra/dnsmasq:2.90 service=kube-dns \
	labels=k8s-app=kube-dns ip=10.244.0.10 server=dns
pod web1 pod=web-7d4b9c6f5-x2x9z ns=shop image=docker.io/library/nginx:1.22 \
	service=web labels=app=web,tier=frontend,pod-template-hash=7d4b9c6f5 \
	ip=10.244.1.11 server=http:80
pod web2 pod=web-7d4b9c6f5-k8m3q ns=shop image=docker.io/library/nginx:1.22 \
	service=web labels=app=web,tier=frontend,pod-template-hash=7d4b9c6f5 \
	ip=10.244.1.12 server=http:80
pod cache pod=cache-0 ns=shop image=docker.io/library/redis:7.0 \
	service=cache labels=app=cache,statefulset.kubernetes.io/pod-name=cache-0 \
	ip=10.244.1.21 server=redis:6379
pod frontend pod=frontend-6c9d7b8f5-h7t2m ns=shop \
	image=registry.example.com/shop/frontend:3.1.0 service=frontend \
	labels=app=frontend ip=10.244.1.31
pod worker pod=worker-5b8c7d9f6-p3n8v ns=shop \
	image=registry.example.com/shop/worker:1.8.2 service=worker \
	labels=app=worker ip=10.244.1.32
# Pod A and pod B of the reused address.
pod api pod=api-58f6d8b7c4-w9p2d ns=shop image=registry.example.com/shop/api:2.3.1 \
	service=api labels=app=api ip=10.244.1.50 server=http:8080
pod report pod=report-28391-xk2p ns=jobs image=registry.example.com/jobs/report:9 \
	service=report labels=app=report,job-name=report-28391 ip=10.244.1.50
external partner ip=198.51.100.10,198.51.100.11 \
	names=api.partner.example=198.51.100.10,cdn.partner.example=198.51.100.11 \
	server=http:80

web=web.shop.svc.cluster.local
cache=cache.shop.svc.cluster.local

at 0 phase initial
at 0.2 frontend http $web count=3
at 0.6 worker dns $web count=2
at 1.0 worker redis $cache count=2 cmd="INCR hits"
at 1.4 frontend http api.partner.example count=2 path=/v1/rates
at 1.8 worker http cdn.partner.example count=1 path=/static/app.js
at 2.2 frontend http api.shop.svc.cluster.local:8080 count=2 path=/api/orders
at 2.6 api redis $cache count=1 cmd="GET hits"
at 4 stop api
at 7 start report
at 7 phase reused-ip
at 7.4 report redis $cache count=2 cmd="INCR reports"
at 7.8 report http $web count=1 path=/internal/report
at 8.2 worker http $web count=2
