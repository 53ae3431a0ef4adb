#!/usr/bin/env python3
# Regenerates demo/inbox (needs reportlab and pillow); then update src/cli/demo_inbox.rs.
# Generates the bundled demo inbox (our own invented mails; no third-party data).
import base64, io, zipfile, os
from email.header import Header
from reportlab.pdfgen import canvas
from PIL import Image, ImageDraw
OUT=os.path.join(os.path.dirname(os.path.abspath(__file__)), 'inbox', 'cur')
def docx(tables, paras):
    def t(s): return '<w:r><w:t xml:space="preserve">%s</w:t></w:r>' % s.replace('&','&amp;').replace('<','&lt;')
    body=''.join('<w:p>%s</w:p>'%t(p) for p in paras)
    for rows in tables:
        body+='<w:tbl>'+''.join('<w:tr>'+''.join('<w:tc><w:p>%s</w:p></w:tc>'%t(c) for c in r)+'</w:tr>' for r in rows)+'</w:tbl>'
    doc='<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>%s</w:body></w:document>'%body
    b=io.BytesIO(); z=zipfile.ZipFile(b,'w',zipfile.ZIP_DEFLATED)
    z.writestr('[Content_Types].xml','<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>')
    z.writestr('_rels/.rels','<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>')
    z.writestr('word/document.xml',doc); z.close(); return b.getvalue()
def expert(name,birth,title,school,cat='电子与信息大类'):
    return docx([[['姓名',name,'性别','男'],['出生年月',birth,'民族','汉族'],['工作单位',school,'职务','专业带头人'],['专业技术职称',title,'所属专业大类',cat],['手机','13900000000','电子邮箱','expert@example.cn']]],['附件2','“1+X”证书制度试点工作专家组专家推荐表'])
def lead(school,cat):
    return docx([[['学校名称',school,'学校类别','高职'],['申报专业大类',cat,'是否“双高”院校','是'],['联系人','王老师','联系电话','0871-00000000']]],['附件1','牵头院校申请表'])
def report(school):
    return docx([],[school+'“1+X”证书制度试点工作总结报告','一、试点工作完成情况。本年度共申报证书 6 个，完成考核 520 人，通过率 86%。','二、试点工作机制建设情况。学校成立试点工作领导小组。'])
def scan():
    im=Image.new('L',(620,877),255); d=ImageDraw.Draw(im)
    for y in range(80,800,28): d.line((60,y,560,y),fill=120)
    d.ellipse((380,640,540,800),outline=60,width=6)
    jb=io.BytesIO(); im.save(jb,'JPEG',quality=30)
    b=io.BytesIO(); c=canvas.Canvas(b,pagesize=(595,842))
    from reportlab.lib.utils import ImageReader
    c.drawImage(ImageReader(io.BytesIO(jb.getvalue())),0,0,595,842); c.showPage(); c.save(); return b.getvalue()
SCAN=scan()
DOCX='application/vnd.openxmlformats-officedocument.wordprocessingml.document'
n=[0]
def mail(frm, subject, atts, body='老师您好，附件是我校报送的材料，请查收。', date='Tue, 14 Mar 2023 10:%02d:00 +0800', extra='', cs='gb18030'):
    n[0]+=1; i=n[0]; date=date%i if '%' in date else date
    B='demo-boundary-%d'%i
    h=f'Return-Path: <{frm}>\r\nReceived: from mx.example.cn by mx.office.example; {date}\r\nDate: {date}\r\nFrom: {Header("学校老师","utf-8").encode()} <{frm}>\r\nTo: office@example.edu.cn\r\nSubject: {Header(subject,cs).encode()}\r\nMessage-ID: <demo-{i}@{frm.split("@")[1]}>\r\nMIME-Version: 1.0\r\n{extra}Content-Type: multipart/mixed; boundary="{B}"\r\n\r\n'
    parts=[f'--{B}\r\nContent-Type: text/plain; charset={cs}\r\nContent-Transfer-Encoding: base64\r\n\r\n'+base64.encodebytes(body.encode(cs)).decode()]
    for fn,data,ct in atts:
        parts.append(f'--{B}\r\nContent-Type: {ct}\r\nContent-Disposition: attachment; filename="{Header(fn,"utf-8").encode()}"\r\nContent-Transfer-Encoding: base64\r\n\r\n'+base64.encodebytes(data).decode())
    raw=(h+''.join(parts)+f'--{B}--\r\n').encode()
    from email.utils import parsedate_to_datetime
    epoch = int(parsedate_to_datetime(date).timestamp())
    open(f'{OUT}/{epoch}.M{i}P1.demo:2,','wb').write(raw)
mail('jwc@kmu.example.cn','专家推荐+昆明学院+张明',[('附件2：专家推荐表（张明）.docx',expert('张明','1976.05','教授','昆明学院'),DOCX),('张明推荐表盖章扫描件.pdf',SCAN,'application/pdf')])
mail('jwc@ynjd.example.cn','专家推荐＋云南机电职院＋李华',[('新建 Microsoft Word 文档.docx',expert('李华','1980年3月','高级技师','云南机电职业技术学院'),DOCX),('扫描全能王 2023-03-15 10.21.pdf',SCAN,'application/pdf')])
mail('jwc@qjcj.example.cn','回复：专家推荐+曲靖财经学校+王芳',[('推荐表.docx',expert('王芳','1969.08','高级讲师','曲靖财经学校','财经商贸大类'),DOCX)])
mail('jwc@ynu.example.cn','专家推荐+云南大学',[('附件2.docx',expert('赵强','1972.01','研究员','云南大学'),DOCX),('盖章.pdf',SCAN,'application/pdf')])
mail('jwc@kmyz.example.cn','牵头院校上报+电子信息大类+昆明冶金高等专科学校',[('附件1：申请表.docx',lead('昆明冶金高等专科学校','电子与信息大类'),DOCX),('申请表盖章版.pdf',SCAN,'application/pdf')])
mail('jwc@ynly.example.cn','牵头院校上报+智能制造大类+云南旅游职业学院',[('申请表盖章版.pdf',SCAN,'application/pdf')])
mail('jwc@ynjt.example.cn','云南交通职业技术学院1+X证书试点工作总结',[('试点工作总结.docx',report('云南交通职业技术学院'),DOCX)])
mail('t01@ynjg.example.cn','请问专家推荐表在哪里下载？',[],body='老师您好，请问专家推荐表（附件2）的电子版在哪里下载？谢谢。')
mail('123456@qq.example.cn','自动回复：专家推荐材料',[],body='您好，我现在休假中，会尽快回复您的邮件。',extra='Auto-Submitted: auto-replied\r\nX-Autoreply: yes\r\n')
mail('jwc@dali.example.cn','专家推荐+大理大学+陈静',[],body='从QQ邮箱发来的超大附件\n\n推荐材料.zip (23.5M, 2023年04月15日 10:21 到期)\n进入下载页面：https://mail.qq.com/cgi-bin/ftnExs_download?k=demo',date='Sun, 26 Mar 2023 09:%02d:00 +0800')
print(sum(os.path.getsize(os.path.join(OUT,f)) for f in os.listdir(OUT)))
